//! Inputs and checks for `bench/scan.sh` (not part of the product).
//!
//! * `bench_scans make DIR N` writes N 300-dpi A4 text scans (grain, dust,
//!   a few degrees of skew, dark borders) as `DIR/page-NNN.jpg`, plus the
//!   clean source of page 1 (straight, no border) as `DIR/source-001.png`,
//!   and the same N pages as an office scanner's scan-to-folder PDF in
//!   "black and white" mode (each page one CCITT G4 image) as
//!   `DIR/scanner-g4.pdf`.
//! * `bench_scans compare SOURCE.png RENDERED.png` prints the share of the
//!   source's ink found in the rendering and the reverse (text strokes
//!   preserved, nothing invented), each within one pixel.

use scanner_ingest::synth;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("make") if args.len() == 4 => {
            let dir = std::path::Path::new(&args[2]);
            let n: u64 = args[3].parse()?;
            std::fs::create_dir_all(dir)?;
            let mut bitonal = Vec::new();
            for i in 1..=n {
                let source = synth::text_page_pixels(1000 + i);
                let noisy = synth::scanner_noise(&source, i, 8.0, 150);
                let page = if i == 1 {
                    source.save(dir.join("source-001.png"))?;
                    noisy
                } else {
                    let angle = ((i * 37) % 9) as f32 - 4.0;
                    synth::on_scanner(&noisy, angle * 0.8, 30)
                };
                std::fs::write(dir.join(format!("page-{i:03}.jpg")), synth::jpeg(&page, 300))?;
                bitonal.push(synth::PdfPage::Bitonal(page));
            }
            std::fs::write(dir.join("scanner-g4.pdf"), synth::scanner_pdf(&bitonal, 300.0))?;
            Ok(())
        }
        Some("compare") if args.len() == 4 => {
            let a = image::open(&args[2])?.to_luma8();
            let b = image::open(&args[3])?.to_luma8();
            println!("{:.4} {:.4}", synth::ink_kept(&a, &b), synth::ink_kept(&b, &a));
            Ok(())
        }
        _ => anyhow::bail!("usage: bench_scans make DIR N | bench_scans compare SOURCE.png RENDERED.png"),
    }
}
