"""Writes a small seed corpus for the intake fuzz targets into DIR/{detect,pdf,image}.

Seeds are made here, not downloaded: a text PDF, one with active content,
a broken xref, an incremental update; a PNG; JPEG and TIFF pages rendered
from the text PDF by poppler's pdftoppm (a tool we did not write).
"""
import os, struct, subprocess, sys, tempfile, zlib


def pdf(objects, tail=b""):
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out) + tail


def text_pdf(catalog=b"", page=b""):
    content = b"BT /F1 24 Tf 72 700 Td (Avis d'imposition 2025) Tj ET 0 0 0 RG 3 w 72 650 m 500 650 l S"
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R " + catalog + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> " + page + b" >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


def png(w, h):
    raw = b"".join(b"\0" + bytes((x * 7 + y * 3) & 0xFF for x in range(w * 3)) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def main(root):
    plain = text_pdf()
    pdfs = {
        "plain.pdf": plain,
        "active.pdf": text_pdf(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>",
                               b"/Annots [<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] /A << /S /URI /URI (http://x) >> >>]"),
        "broken-xref.pdf": plain.replace(b"startxref\n", b"startxref\n9"),
        "update.pdf": plain + b"6 0 obj\n<< /S /Launch /F (calc.exe) >>\nendobj\nxref\n6 1\n0000000000 00000 n \n"
                              b"trailer\n<< /Size 7 /Root 1 0 R >>\n%%EOF\n",
    }
    images = {"page.png": png(40, 30)}
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "p.pdf")
        with open(src, "wb") as f:
            f.write(plain)
        for fmt, ext in (("-jpeg", "jpg"), ("-tiff", "tif")):
            out = os.path.join(tmp, "page")
            subprocess.run(["pdftoppm", "-r", "20", fmt, "-singlefile", src, out], check=True)
            with open(f"{out}.{ext}", "rb") as f:
                images[f"page.{ext}"] = f.read()
    # The image target reads its first byte as the container choice.
    pick = {"jpg": 0, "png": 1, "tif": 2}
    magic_len = {"jpg": 3, "png": 8, "tif": 4}
    for target, docs in (("detect", {**pdfs, **images}), ("pdf", pdfs), ("image", images)):
        d = os.path.join(root, target)
        os.makedirs(d, exist_ok=True)
        for name, data in docs.items():
            if target == "image":
                ext = name.rsplit(".", 1)[1]
                data = bytes([pick[ext]]) + data[magic_len[ext]:]
            with open(os.path.join(d, "seed-" + name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
