//! The image path (JPEG, PNG, TIFF): refused or re-encoded, never a panic,
//! never past the limits checked from headers.
#![no_main]

use libfuzzer_sys::fuzz_target;

const LIMITS: intake::Limits = intake::Limits { max_pages: 4, max_pixels: 4_000_000, max_side: 4000, max_alloc: 64 << 20 };

fuzz_target!(|data: &[u8]| {
    // The first byte picks the container, so the fuzzer need not find the
    // magic bytes by itself.
    let Some((&pick, rest)) = data.split_first() else { return };
    let magic: &[u8] = match pick % 4 {
        0 => &[0xFF, 0xD8, 0xFF],
        1 => b"\x89PNG\r\n\x1a\n",
        2 => b"II*\0",
        _ => b"MM\0*",
    };
    let mut doc = magic.to_vec();
    doc.extend_from_slice(rest);
    if let Ok(done) = intake::process(&doc, &LIMITS) {
        assert!(done.pages >= 1 && done.pages <= LIMITS.max_pages);
        assert!(done.thumbnail.starts_with(&[0xFF, 0xD8, 0xFF]));
    }
});
