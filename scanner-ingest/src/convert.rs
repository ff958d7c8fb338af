//! Many scan files (images, or scanners' PDFs through the confined
//! [`crate::pdf_worker`]) to cleaned pages, on every core, in page order; and
//! those pages to a PDF (written to disk by `spool::write_atomic`).

use std::{
    path::{Path, PathBuf},
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use aws_lc_rs::digest;
use intake::{EncodedPage, Limits};

use crate::{
    error::Error,
    pdf_worker::PdfWorker,
    scan::{self, CleanPage, PageClass},
};

/// Largest scan file read (a 600-dpi multi-page TIFF fits).
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// A cleaned page and where it came from.
#[derive(Debug)]
pub struct ScannedPage {
    /// Index of the source file in the list given.
    pub file: usize,
    /// Page within that file (TIFFs hold several).
    pub page_in_file: usize,
    pub page: CleanPage,
}

/// A source file's fingerprint, for provenance.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub sha256: String,
}

/// Reads, decodes and cleans every file, `threads` at a time; `progress`
/// is told each time a file is done (files done, files in all).
pub fn clean_files(
    files: &[PathBuf],
    pdf: &PdfWorker,
    find_qr: bool,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(Vec<SourceFile>, Vec<ScannedPage>), Error> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<(SourceFile, Vec<CleanPage>), Error>>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, files.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    let r = clean_file(path, pdf, find_qr, threads);
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(r);
                    }
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, files.len());
                }
            });
        }
    });
    let results = results.into_inner().map_err(|_| Error::Image("a page worker panicked".into()))?;
    let mut sources = Vec::with_capacity(files.len());
    let mut pages = Vec::new();
    for (file, r) in results.into_iter().enumerate() {
        let (source, cleaned) = r.ok_or_else(|| Error::Image("a page worker panicked".into()))??;
        sources.push(source);
        pages.extend(cleaned.into_iter().enumerate().map(|(page_in_file, page)| ScannedPage {
            file,
            page_in_file,
            page,
        }));
    }
    Ok((sources, pages))
}

fn clean_file(
    path: &Path,
    pdf: &PdfWorker,
    find_qr: bool,
    threads: usize,
) -> Result<(SourceFile, Vec<CleanPage>), Error> {
    let input = |message: String| Error::Input { path: path.to_owned(), message };
    let len = std::fs::metadata(path).map_err(|e| input(e.to_string()))?.len();
    if len > MAX_FILE_BYTES {
        return Err(input(format!("{len} bytes; at most {MAX_FILE_BYTES} are read")));
    }
    let bytes = std::fs::read(path).map_err(|e| input(e.to_string()))?;
    let sha256 = hex::encode(digest::digest(&digest::SHA256, &bytes));
    let limits = Limits { max_pages: 500, max_pixels: 80_000_000, max_side: 20_000, max_alloc: 1 << 30, threads: 1 };
    // A scanner's PDF is opened only by the confined worker.
    if intake::detect(&bytes).is_ok_and(|f| f == intake::Format::Pdf) {
        let cleaned = clean_pdf(&bytes, pdf, find_qr, threads).map_err(|e| match e {
            PdfFailure::Worker(message) => input(message),
            PdfFailure::Page(e) => e,
        })?;
        return Ok((SourceFile { path: path.to_owned(), sha256 }, cleaned));
    }
    let raw = intake::decode_scan(&bytes, &limits).map_err(|e| input(e.to_string()))?;
    drop(bytes);
    let cleaned = raw.into_iter().map(|p| scan::clean(p, find_qr)).collect::<Result<Vec<_>, _>>()?;
    Ok((SourceFile { path: path.to_owned(), sha256 }, cleaned))
}

enum PdfFailure {
    /// The worker refused the PDF or failed: a French sentence.
    Worker(String),
    /// A page it delivered could not be cleaned.
    Page(Error),
}

/// A scanner's PDF, its pages cleaned on `threads` cores as the worker
/// delivers them: a stack is usually one PDF, and its pages, not its files,
/// are what there is to share out. At most `threads` pages wait between
/// the worker and the cleaners, so memory stays a few pages whatever the
/// stack's length.
fn clean_pdf(bytes: &[u8], pdf: &PdfWorker, find_qr: bool, threads: usize) -> Result<Vec<CleanPage>, PdfFailure> {
    let threads = threads.max(1);
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, crate::pdf_worker::RawPage)>(threads);
    let rx = Mutex::new(rx);
    let cleaned: Mutex<Vec<(usize, Result<CleanPage, PdfFailure>)>> = Mutex::new(Vec::new());
    let read = std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let next = rx.lock().ok().and_then(|r| r.recv().ok());
                    let Some((i, raw)) = next else { break };
                    // A page's JPEG that does not decode is the PDF's fault.
                    let page = match raw.decode() {
                        Ok(p) => scan::clean(p, find_qr).map_err(PdfFailure::Page),
                        Err(_) => Err(PdfFailure::Worker(format!(
                            "la page {} de ce PDF n'a pas pu être lue (image endommagée) : numérisez le lot à nouveau",
                            i + 1
                        ))),
                    };
                    if let Ok(mut all) = cleaned.lock() {
                        all.push((i, page));
                    }
                }
            });
        }
        let tx = tx;
        let mut n = 0;
        // A send fails only if every cleaner is gone (a panic): the pages
        // then come up short and the count below says so.
        pdf.each_page(bytes, &mut |raw| {
            let _ = tx.send((n, raw));
            n += 1;
        })
    });
    let pages = read.map_err(PdfFailure::Worker)?;
    let mut cleaned =
        cleaned.into_inner().map_err(|_| PdfFailure::Page(Error::Image("a page cleaner panicked".into())))?;
    if cleaned.len() != pages {
        return Err(PdfFailure::Page(Error::Image("a page cleaner panicked".into())));
    }
    cleaned.sort_by_key(|(i, _)| *i);
    cleaned.into_iter().map(|(_, p)| p).collect()
}

/// Pages of a stack scanned on a simplex feeder in two passes ("recto
/// puis verso"): the first file holds the fronts in order, the second the
/// backs, in reverse order, since the stack was turned over to scan them
/// (as Paperless-ngx's double-sided collation has it). Returns the pages
/// front, back, front, back…; the error is a French sentence for the
/// quarantine.
pub fn collate(sources: &[SourceFile], pages: Vec<ScannedPage>) -> Result<Vec<ScannedPage>, String> {
    if sources.len() != 2 {
        return Err(format!(
            "recto-verso : le lot doit tenir en deux fichiers (les rectos, puis les versos), il en a {}",
            sources.len()
        ));
    }
    let (fronts, mut backs): (Vec<_>, Vec<_>) = pages.into_iter().partition(|p| p.file == 0);
    if fronts.len() != backs.len() {
        return Err(format!(
            "recto-verso : {} recto(s) dans le premier fichier mais {} verso(s) dans le second ; numérisez à nouveau \
             les deux faces de la pile",
            fronts.len(),
            backs.len()
        ));
    }
    backs.reverse();
    Ok(fronts.into_iter().zip(backs).flat_map(|(f, b)| [f, b]).collect())
}

/// The PDF of these pages.
pub fn pdf(pages: &[&CleanPage]) -> Result<Vec<u8>, Error> {
    let encoded: Vec<&EncodedPage> = pages.iter().map(|p| &p.encoded).collect();
    intake::build_pdf_from(&encoded, &[]).map_err(|e| Error::Image(e.to_string()))
}

/// Counts of pages by class.
pub fn census<'a>(pages: impl Iterator<Item = &'a CleanPage>) -> [usize; 4] {
    let mut n = [0; 4];
    for p in pages {
        n[match p.class {
            PageClass::Text => 0,
            PageClass::Gray => 1,
            PageClass::Colour => 2,
            PageClass::Blank => 3,
        }] += 1;
    }
    n
}
