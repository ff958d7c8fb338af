//! Media type by content (magic bytes), never by file name or Content-Type.
//! The full check (a successful parse in the sandboxed worker) comes with
//! safe intake; this only labels what was stored.

/// Bytes needed to recognise every type below.
pub const SNIFF_LEN: usize = 16;

pub fn sniff(head: &[u8]) -> &'static str {
    let starts = |m: &[u8]| head.starts_with(m);
    if starts(b"%PDF-") {
        "application/pdf"
    } else if starts(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        "image/tiff"
    } else if head.len() >= 12
        && &head[4..8] == b"ftyp"
        && matches!(&head[8..12], b"heic" | b"heix" | b"mif1" | b"msf1")
    {
        "image/heic"
    } else {
        "application/octet-stream"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), "image/jpeg");
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), "image/png");
        assert_eq!(sniff(b"II*\0"), "image/tiff");
        assert_eq!(sniff(b"\0\0\0\x18ftypheic"), "image/heic");
        assert_eq!(sniff(b""), "application/octet-stream");
        assert_eq!(sniff(b"GIF89a"), "application/octet-stream");
    }
}
