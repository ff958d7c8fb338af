//! Proof that a PDF is the vault's own rendition, before the server uses it.
//!
//! Renditions are written by the intake worker, and the worker is where an
//! attacker with a parser bug would sit: the server takes nothing it makes
//! on trust. A rendition is accepted only in the exact shape
//! [`crate::build_pdf`] writes: a catalogue with its page tree and nothing
//! else (no action, name tree, form, outline or metadata); pages with a
//! media box, one content stream that draws one image (`q W 0 0 H 0 0 cm
//! /P Do Q`) and resources naming that image alone; each image either a
//! baseline or progressive JPEG, grey or RGB, whose own header gives the
//! size the dictionary claims, or a bitonal Group 4 image whose parameters
//! give that size, within [`MAX_SIDE`]; no object beyond these.

use lopdf::{Dictionary, Document, Object, ObjectId, content::Content};

/// Longest side of a rendition page, in pixels (a 150-dpi A3 page is 2480).
pub const MAX_SIDE: u32 = 10_000;

/// Why a PDF is not the vault's own rendition (the first difference found).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not the vault's own rendition: {0}")]
pub struct NotOwn(pub String);

fn no(why: impl Into<String>) -> NotOwn {
    NotOwn(why.into())
}

/// Checks `doc` (already parsed) and returns its pages in order.
pub fn check(doc: &Document) -> Result<Vec<ObjectId>, NotOwn> {
    let root = doc.trailer.get(b"Root").and_then(Object::as_reference).map_err(|_| no("no catalogue"))?;
    let catalog = doc.get_dictionary(root).map_err(|_| no("no catalogue"))?;
    only_keys(catalog, &[b"Type", b"Pages"], "catalogue")?;
    // The writer ends with a cross-reference stream, whose dictionary
    // becomes the trailer.
    let trailer_keys: &[&[u8]] = &[b"Root", b"Size", b"ID", b"Type"];
    only_keys(&doc.trailer, trailer_keys, "trailer")?;
    let tree = catalog.get(b"Pages").and_then(Object::as_reference).map_err(|_| no("no page tree"))?;
    let pages_dict = doc.get_dictionary(tree).map_err(|_| no("no page tree"))?;
    only_keys(pages_dict, &[b"Type", b"Kids", b"Count"], "page tree")?;
    let kids = pages_dict.get(b"Kids").and_then(Object::as_array).map_err(|_| no("page tree without kids"))?;
    if kids.is_empty() {
        return Err(no("no pages"));
    }
    let mut pages = Vec::with_capacity(kids.len());
    for kid in kids {
        let id = kid.as_reference().map_err(|_| no("a page is not a reference"))?;
        check_page(doc, id, tree)?;
        pages.push(id);
    }
    // Catalogue, page tree, and three objects a page: nothing hidden beside
    // (the cross-reference stream aside).
    let xref =
        |o: &&Object| o.as_stream().is_ok_and(|s| s.dict.get(b"Type").and_then(Object::as_name).ok() == Some(b"XRef"));
    let objects = doc.objects.values().filter(|o| !xref(o)).count();
    if objects != 2 + 3 * pages.len() {
        return Err(no(format!("{objects} objects for {} pages", pages.len())));
    }
    Ok(pages)
}

fn only_keys(d: &Dictionary, allowed: &[&[u8]], what: &str) -> Result<(), NotOwn> {
    match d.iter().find(|(k, _)| !allowed.contains(&k.as_slice())) {
        Some((k, _)) => Err(no(format!("{what} has /{}", String::from_utf8_lossy(k)))),
        None => Ok(()),
    }
}

fn check_page(doc: &Document, id: ObjectId, parent: ObjectId) -> Result<(), NotOwn> {
    let page = doc.get_dictionary(id).map_err(|_| no("a page is not a dictionary"))?;
    only_keys(page, &[b"Type", b"Parent", b"MediaBox", b"Contents", b"Resources"], "a page")?;
    if page.get(b"Parent").and_then(Object::as_reference).ok() != Some(parent) {
        return Err(no("a page outside the page tree"));
    }
    let resources = page.get(b"Resources").and_then(Object::as_dict).map_err(|_| no("a page without resources"))?;
    only_keys(resources, &[b"XObject"], "page resources")?;
    let xobjects = resources.get(b"XObject").and_then(Object::as_dict).map_err(|_| no("no image"))?;
    only_keys(xobjects, &[b"P"], "page images")?;
    let image_id = xobjects.get(b"P").and_then(Object::as_reference).map_err(|_| no("no image"))?;
    let image = doc.get_object(image_id).and_then(Object::as_stream).map_err(|_| no("the image is not a stream"))?;
    only_keys(
        &image.dict,
        &[
            b"Type",
            b"Subtype",
            b"Width",
            b"Height",
            b"ColorSpace",
            b"BitsPerComponent",
            b"Filter",
            b"DecodeParms",
            b"Length",
        ],
        "the image",
    )?;
    let name = |k: &[u8]| image.dict.get(k).and_then(Object::as_name).ok();
    let int = |k: &[u8]| image.dict.get(k).and_then(Object::as_i64).ok();
    if name(b"Subtype") != Some(b"Image".as_slice()) {
        return Err(no("the page draws something other than an image"));
    }
    let (Some(w), Some(h)) = (int(b"Width"), int(b"Height")) else { return Err(no("the image has no size")) };
    let (Ok(w), Ok(h)) = (u32::try_from(w), u32::try_from(h)) else { return Err(no("negative image size")) };
    match (name(b"Filter"), name(b"ColorSpace"), int(b"BitsPerComponent")) {
        (Some(b"DCTDecode"), space, Some(8)) => {
            let components = match space {
                Some(b"DeviceGray") => 1,
                Some(b"DeviceRGB") => 3,
                _ => return Err(no("the image is neither grey nor RGB")),
            };
            if image.dict.has(b"DecodeParms") {
                return Err(no("a JPEG image with decoding parameters"));
            }
            if jpeg_header(&image.content) != Some((w, h, components)) {
                return Err(no("the JPEG's own header disagrees with the image dictionary"));
            }
        }
        // A bitonal text page: Group 4 exactly as `build_pdf_from` writes
        // it; its data is decoded (strictly, to the row count) only when
        // a page is drawn.
        (Some(b"CCITTFaxDecode"), Some(b"DeviceGray"), Some(1)) => {
            let parms =
                image.dict.get(b"DecodeParms").and_then(Object::as_dict).map_err(|_| no("G4 without parameters"))?;
            only_keys(parms, &[b"K", b"Columns", b"Rows"], "the G4 parameters")?;
            let p = |k: &[u8]| parms.get(k).and_then(Object::as_i64).ok();
            if (p(b"K"), p(b"Columns"), p(b"Rows")) != (Some(-1), Some(i64::from(w)), Some(i64::from(h))) {
                return Err(no("the G4 parameters disagree with the image dictionary"));
            }
        }
        _ => return Err(no("the image is neither a JPEG nor a Group 4 bitonal image")),
    }
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(no(format!("an image of {w}×{h} pixels")));
    }
    let contents = page.get(b"Contents").and_then(Object::as_reference).map_err(|_| no("no page content"))?;
    let stream = doc.get_object(contents).and_then(Object::as_stream).map_err(|_| no("no page content"))?;
    only_keys(&stream.dict, &[b"Length"], "the page content")?;
    let ops = Content::decode(&stream.content).map_err(|_| no("unreadable page content"))?.operations;
    let shape: Vec<(&str, usize)> = ops.iter().map(|o| (o.operator.as_str(), o.operands.len())).collect();
    if shape != [("q", 0), ("cm", 6), ("Do", 1), ("Q", 0)] || ops[2].operands[0].as_name().ok() != Some(b"P") {
        return Err(no("the page content does more than draw its image"));
    }
    Ok(())
}

/// Width, height and components from a JPEG's frame header, walking its
/// markers from the start; `None` unless it starts as a JPEG, has a
/// baseline, extended or progressive Huffman frame, and ends with EOI.
pub fn jpeg_header(data: &[u8]) -> Option<(u32, u32, u8)> {
    if !data.starts_with(&[0xFF, 0xD8]) || !data.ends_with(&[0xFF, 0xD9]) {
        return None;
    }
    let mut at = 2;
    loop {
        let marker = *data.get(at + 1)?;
        if data[at] != 0xFF {
            return None;
        }
        if marker == 0xFF {
            at += 1; // fill byte
            continue;
        }
        let len = usize::from(u16::from_be_bytes([*data.get(at + 2)?, *data.get(at + 3)?]));
        if matches!(marker, 0xC0..=0xC2) {
            let seg = data.get(at + 4..at + 2 + len)?;
            let (precision, h, w, n) = (seg.first()?, seg.get(1..3)?, seg.get(3..5)?, seg.get(5)?);
            let (h, w) = (u16::from_be_bytes([h[0], h[1]]), u16::from_be_bytes([w[0], w[1]]));
            return (*precision == 8).then_some((u32::from(w), u32::from(h), *n));
        }
        if matches!(marker, 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF | 0xDA | 0xD9) || len < 2 {
            return None; // another frame kind, or scan data before any frame
        }
        at += 2 + len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PageImage;

    fn own(pages: usize) -> Vec<u8> {
        let page = PageImage::Gray { pixels: image::GrayImage::from_pixel(300, 400, image::Luma([200])), dpi: 150.0 };
        crate::build_pdf(&vec![page; pages]).unwrap_or_default()
    }

    #[test]
    fn the_vaults_own_renditions_pass() {
        for n in [1, 3] {
            let doc = Document::load_mem(&own(n)).unwrap_or_default();
            assert_eq!(check(&doc).map(|p| p.len()), Ok(n));
        }
    }

    #[test]
    fn anything_added_or_changed_is_refused() {
        let base = || Document::load_mem(&own(1)).unwrap_or_default();
        // An open action on the catalogue.
        let mut doc = base();
        let root = doc.trailer.get(b"Root").and_then(Object::as_reference).unwrap_or((0, 0));
        if let Ok(c) = doc.get_dictionary_mut(root) {
            c.set("OpenAction", Object::Null);
        }
        assert!(check(&doc).is_err());
        // An extra object hidden beside the pages.
        let mut doc = base();
        doc.add_object(Object::string_literal("payload"));
        assert!(check(&doc).is_err());
        // A page that draws text too.
        let mut doc = base();
        let page = check(&base()).unwrap_or_default()[0];
        let contents = doc.get_dictionary(page).and_then(|p| p.get(b"Contents")).and_then(Object::as_reference);
        if let Ok(id) = contents
            && let Ok(s) = doc.get_object_mut(id).and_then(Object::as_stream_mut)
        {
            s.set_content(b"q 1 0 0 1 0 0 cm /P Do Q BT (x) Tj ET".to_vec());
        }
        assert!(check(&doc).is_err());
    }

    #[test]
    fn a_jpeg_header_is_read_and_a_lie_is_caught() {
        let page = PageImage::Gray { pixels: image::GrayImage::from_pixel(30, 20, image::Luma([9])), dpi: 72.0 };
        let jpeg = page.jpeg(80).unwrap_or_default();
        assert_eq!(jpeg_header(&jpeg), Some((30, 20, 1)));
        assert_eq!(jpeg_header(&jpeg[..jpeg.len() - 2]), None, "no end of image");
        assert_eq!(jpeg_header(b"GIF89a"), None);
    }
}
