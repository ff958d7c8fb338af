//! A ZIP archive written as a stream: entries are stored (originals are
//! PDFs and JPEGs, already compressed), each followed by a data descriptor
//! carrying its CRC-32 (known only once its bytes have passed), then the
//! central directory. Nothing is buffered beyond one chunk, so an archive
//! of any size takes the same memory. Sizes fit the classic (non-ZIP64)
//! format: entries under 4 GiB, archives under 4 GiB, which the upload
//! limit keeps far away; [`ZipWriter`] refuses rather than write a broken
//! archive past them.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::Error;

/// General-purpose flags: sizes and CRC in a data descriptor (bit 3), names
/// in UTF-8 (bit 11).
const FLAGS: u16 = 0x0808;
/// Version needed to extract: 2.0 (stored entries, data descriptors).
const VERSION: u16 = 20;

struct Central {
    name: String,
    crc: u32,
    size: u32,
    offset: u32,
}

/// Builds the bytes of an archive, entry by entry, for a caller that sends
/// them as they come.
pub struct ZipWriter {
    offset: u64,
    entries: Vec<Central>,
    /// The entry being written: name, CRC so far, size so far, where it began.
    open: Option<(String, crc32fast::Hasher, u64, u64)>,
    dos_time: u16,
    dos_date: u16,
}

fn too_big() -> Error {
    Error::internal("writing the archive", "it would exceed 4 GiB (ZIP64 is not written)")
}

impl ZipWriter {
    /// An archive whose entries are dated `at` (UTC).
    pub fn new(at: time::OffsetDateTime) -> Self {
        let dos_time = (u16::from(at.hour()) << 11) | (u16::from(at.minute()) << 5) | (u16::from(at.second()) / 2);
        let year = u16::try_from(at.year() - 1980).unwrap_or(0).min(127);
        let dos_date = (year << 9) | (u16::from(u8::from(at.month())) << 5) | u16::from(at.day());
        Self { offset: 0, entries: Vec::new(), open: None, dos_time, dos_date }
    }

    fn count(&mut self, out: &BytesMut) {
        self.offset += out.len() as u64;
    }

    /// The local header of a new entry (ending any open one is the
    /// caller's job: [`Self::end_entry`]).
    pub fn start_entry(&mut self, name: &str) -> Result<Bytes, Error> {
        let offset = self.offset;
        let mut b = BytesMut::with_capacity(30 + name.len());
        b.put_u32_le(0x0403_4b50);
        b.put_u16_le(VERSION);
        b.put_u16_le(FLAGS);
        b.put_u16_le(0); // stored
        b.put_u16_le(self.dos_time);
        b.put_u16_le(self.dos_date);
        b.put_u32_le(0); // CRC, sizes: in the data descriptor
        b.put_u32_le(0);
        b.put_u32_le(0);
        b.put_u16_le(u16::try_from(name.len()).map_err(|_| Error::Invalid("entry name too long".into()))?);
        b.put_u16_le(0);
        b.put_slice(name.as_bytes());
        self.count(&b);
        self.open = Some((name.to_owned(), crc32fast::Hasher::new(), 0, offset));
        Ok(b.freeze())
    }

    /// Accounts for a part of the open entry's content (sent as is).
    pub fn data(&mut self, part: &[u8]) {
        if let Some((_, crc, size, _)) = &mut self.open {
            crc.update(part);
            *size += part.len() as u64;
        }
        self.offset += part.len() as u64;
    }

    /// The data descriptor ending the open entry.
    pub fn end_entry(&mut self) -> Result<Bytes, Error> {
        let Some((name, crc, size, offset)) = self.open.take() else {
            return Err(Error::internal("writing the archive", "no open ZIP entry"));
        };
        let crc = crc.finalize();
        let size = u32::try_from(size).map_err(|_| too_big())?;
        let offset = u32::try_from(offset).map_err(|_| too_big())?;
        let mut b = BytesMut::with_capacity(16);
        b.put_u32_le(0x0807_4b50);
        b.put_u32_le(crc);
        b.put_u32_le(size);
        b.put_u32_le(size);
        self.count(&b);
        self.entries.push(Central { name, crc, size, offset });
        Ok(b.freeze())
    }

    /// A whole entry held in memory (manifest, trace).
    pub fn entry(&mut self, name: &str, content: &[u8]) -> Result<Bytes, Error> {
        let mut b = BytesMut::new();
        b.put(self.start_entry(name)?);
        self.data(content);
        b.put_slice(content);
        b.put(self.end_entry()?);
        Ok(b.freeze())
    }

    /// The central directory and its end record.
    pub fn finish(self) -> Result<Bytes, Error> {
        let start = u32::try_from(self.offset).map_err(|_| too_big())?;
        let mut b = BytesMut::new();
        for e in &self.entries {
            b.put_u32_le(0x0201_4b50);
            b.put_u16_le(VERSION);
            b.put_u16_le(VERSION);
            b.put_u16_le(FLAGS);
            b.put_u16_le(0);
            b.put_u16_le(self.dos_time);
            b.put_u16_le(self.dos_date);
            b.put_u32_le(e.crc);
            b.put_u32_le(e.size);
            b.put_u32_le(e.size);
            b.put_u16_le(u16::try_from(e.name.len()).unwrap_or(u16::MAX));
            b.put_u16_le(0); // extra
            b.put_u16_le(0); // comment
            b.put_u16_le(0); // disk
            b.put_u16_le(0); // internal attributes
            b.put_u32_le(0); // external attributes
            b.put_u32_le(e.offset);
            b.put_slice(e.name.as_bytes());
        }
        let size = u32::try_from(b.len()).map_err(|_| too_big())?;
        let n = u16::try_from(self.entries.len())
            .map_err(|_| Error::internal("writing the archive", "more than 65535 entries"))?;
        b.put_u32_le(0x0605_4b50);
        b.put_u16_le(0);
        b.put_u16_le(0);
        b.put_u16_le(n);
        b.put_u16_le(n);
        b.put_u32_le(size);
        b.put_u32_le(start);
        b.put_u16_le(0);
        Ok(b.freeze())
    }
}
