//! The PDF path: whatever follows a PDF header is refused or rebuilt,
//! never a panic; an accepted document has as many rendition pages as it
//! claims, within the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

// Small limits keep each run fast; the worker's real limits are larger.
const LIMITS: intake::Limits = intake::Limits { max_pages: 4, max_pixels: 4_000_000, max_side: 4000, max_alloc: 64 << 20 };

fuzz_target!(|data: &[u8]| {
    let mut doc = Vec::with_capacity(data.len() + 9);
    if !data.starts_with(b"%PDF-") {
        doc.extend_from_slice(b"%PDF-1.7\n");
    }
    doc.extend_from_slice(data);
    if let Ok(done) = intake::process(&doc, &LIMITS) {
        assert!(done.pages >= 1 && done.pages <= LIMITS.max_pages);
        assert!(done.rendition.starts_with(b"%PDF-"));
    }
});
