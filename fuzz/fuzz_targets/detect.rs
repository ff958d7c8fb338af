//! Type detection by content: any bytes give a format or a refusal, never
//! a panic, and a format is only claimed for the magic bytes it implies.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(format) = intake::detect(data) {
        let ok = match format {
            intake::Format::Pdf => data[..data.len().min(1024)].windows(5).any(|w| w == b"%PDF-"),
            intake::Format::Jpeg => data.starts_with(&[0xFF, 0xD8, 0xFF]),
            intake::Format::Png => data.starts_with(b"\x89PNG\r\n\x1a\n"),
            intake::Format::Tiff => data.starts_with(b"II*\0") || data.starts_with(b"MM\0*"),
        };
        assert!(ok, "{format:?} claimed without its magic bytes");
    }
});
