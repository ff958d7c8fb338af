#!/usr/bin/env bash
# scanner-ingest against img2pdf (PyPI) and ImageMagick on the same 300-dpi
# A4 text scans, in one run. Reports pages per second, bytes per text page
# and whether text strokes survive (page 1 rendered back by poppler and
# compared with its clean source). Then the same pages as an office
# scanner's PDF (one CCITT G4 image a page) against poppler's `pdfimages
# -all` extracting those images, which does no cleanup at all.
#
# A floor in the same run: libjpeg-turbo's `djpeg` only decoding every page
# (pixels thrown away), one process a page on every core. Cleaning a page
# needs its pixels, so scanner-ingest cannot be faster than this; when
# img2pdf (which never decodes) beats it, no cleaner can reach img2pdf.
#
#   bench/scan.sh [PAGES]      (default 20; needs img2pdf, imagemagick, poppler-utils, libjpeg-turbo-progs)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20}
command -v img2pdf >/dev/null || pip install -q img2pdf
command -v convert >/dev/null || { apt-get update -qq && apt-get install -y -qq imagemagick; }
command -v pdftoppm >/dev/null || { apt-get update -qq && apt-get install -y -qq poppler-utils; }
command -v djpeg >/dev/null || { apt-get update -qq && apt-get install -y -qq libjpeg-turbo-progs; }
cargo build -q --release -p scanner-ingest --bin scanner-ingest --example bench_scans
BIN=target/release/scanner-ingest
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
target/release/examples/bench_scans make "$W/in" "$N"
PAGES=("$W"/in/page-*.jpg)

now() { date +%s.%N; }
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
time_it() { local t0 t1; t0=$(now); "$@" >/dev/null 2>&1; t1=$(now); echo "$t1 - $t0" | bc -l; }

decode_all() { printf '%s\n' "$@" | xargs -P "$(nproc)" -n 1 djpeg -outfile /dev/null; }
ours=(); img=(); dec=()
for _ in 1 2 3; do   # interleaved, median of three
  ours+=("$(time_it "$BIN" convert "${PAGES[@]}" -o "$W/ours.pdf")")
  img+=("$(time_it img2pdf "${PAGES[@]}" -o "$W/img2pdf.pdf")")
  dec+=("$(time_it decode_all "${PAGES[@]}")")
done
t0=$(now)
for p in "${PAGES[@]}"; do
  convert "$p" -colorspace Gray -threshold 60% -compress Group4 "$W/im-$(basename "$p" .jpg).tif"
done
t_im=$(echo "$(now) - $t0" | bc -l)
t_ours=$(median3 "${ours[@]}"); t_img=$(median3 "${img[@]}"); t_dec=$(median3 "${dec[@]}")

# The scanner's PDF: opened in the confined worker, every page cleaned and
# classed, against the images merely copied out.
pdf_ours=(); pdf_pi=()
for _ in 1 2 3; do
  pdf_ours+=("$(time_it "$BIN" convert "$W/in/scanner-g4.pdf" -o "$W/ours-from-pdf.pdf")")
  rm -rf "$W/pi"; mkdir "$W/pi"
  pdf_pi+=("$(time_it pdfimages -all "$W/in/scanner-g4.pdf" "$W/pi/p")")
done
t_pdf=$(median3 "${pdf_ours[@]}"); t_pi=$(median3 "${pdf_pi[@]}")
n_pi=$(find "$W/pi" -type f ! -name '*.params' | wc -l)  # a CCITT image comes with its .params
[ "$n_pi" -eq "$N" ] || { echo "pdfimages extracted $n_pi images, not $N" >&2; exit 1; }
qpdf --check "$W/ours-from-pdf.pdf" >/dev/null
n_out=$(pdfinfo "$W/ours-from-pdf.pdf" | sed -n 's/^Pages: *//p')
b_pdf_in=$(stat -c %s "$W/in/scanner-g4.pdf"); b_pdf=$(stat -c %s "$W/ours-from-pdf.pdf")

qpdf --check "$W/ours.pdf" >/dev/null
pdftoppm -r 300 -gray -png -f 1 -l 1 -singlefile "$W/ours.pdf" "$W/ours-001"
read -r kept matched < <(target/release/examples/bench_scans compare "$W/in/source-001.png" "$W/ours-001.png")

b_ours=$(stat -c %s "$W/ours.pdf"); b_img=$(stat -c %s "$W/img2pdf.pdf"); b_im=$(cat "$W"/im-*.tif | wc -c)
awk -v n="$N" -v to="$t_ours" -v ti="$t_img" -v tm="$t_im" -v td="$t_dec" -v bo="$b_ours" -v bi="$b_img" -v bm="$b_im" \
    -v k="$kept" -v m="$matched" -v cores="$(nproc)" \
    -v tp="$t_pdf" -v tpi="$t_pi" -v bpi="$b_pdf_in" -v bp="$b_pdf" -v np="$n_out" 'BEGIN {
  printf "%d pages, 300-dpi A4 text scans, %d cores\n", n, cores
  printf "%-28s %9s %14s\n", "", "pages/s", "bytes/page"
  printf "%-28s %9.2f %14d\n", "scanner-ingest convert", n/to, bo/n
  printf "%-28s %9.2f %14d\n", "img2pdf (wraps the JPEG)", n/ti, bi/n
  printf "%-28s %9.2f %14d\n", "ImageMagick G4 TIFF", n/tm, bm/n
  printf "%-28s %9.2f %14s\n", "djpeg, decoding only", n/td, "-"
  printf "speed: %.1fx ImageMagick, %.2f of img2pdf, %.2f of decoding alone\n", tm/to, ti/to, td/to
  printf "floor: decoding alone on every core is %.2f of img2pdf\n", ti/td
  printf "size: 1/%.0f of img2pdf per text page (target >= 20)\n", bi/bo
  printf "legibility (page 1 rendered back at 300 dpi): source ink kept %.2f%%, output ink on source strokes %.2f%%\n", k*100, m*100
  printf "\n%d-page scanner PDF, CCITT G4 pages (%d bytes/page)\n", n, bpi/n
  printf "%-28s %9s %14s\n", "", "pages/s", "bytes/page"
  printf "%-28s %9.2f %14d\n", "scanner-ingest convert", n/tp, bp/np
  printf "%-28s %9.2f %14s\n", "pdfimages -all (extracts)", n/tpi, "-"
  printf "speed: %.4f of pdfimages (%.0fx slower; it only copies the images out); %d pages out, qpdf --check clean\n", tpi/tp, tp/tpi, np
}'
