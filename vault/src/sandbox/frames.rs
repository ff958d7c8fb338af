//! What the server writes to a worker's stdin: the upload's files, framed
//! so that one worker reads the several photos of one document, then the
//! turns the uploader asked for each.
//!
//! ```text
//! F                      a file begins
//! D <u32 le n> <n bytes> part of the current file's bytes
//! T <u8 n> <n bytes>     quarter turns clockwise, one per file (sent last:
//!                        a form may carry them after its files)
//! ```
//!
//! The worker decodes only after it read its whole input, so framing costs
//! it nothing but the copy into one buffer per file. Parts are coalesced to
//! at least [`FRAME`] bytes by the server, so a client sending one byte per
//! chunk cannot inflate what the worker holds: the overhead is 5 bytes per
//! [`FRAME`] plus one per file.

use bytes::{BufMut, Bytes, BytesMut};

/// Smallest data frame the server sends (but the last of a file).
pub const FRAME: usize = 64 * 1024;

const FILE: u8 = b'F';
const DATA: u8 = b'D';
const TURNS: u8 = b'T';

/// Input bytes a worker may read for an upload of `max_files_bytes`: the
/// files, plus the framing.
pub fn max_input(max_files_bytes: u64) -> u64 {
    max_files_bytes + (max_files_bytes / FRAME as u64 + 1 + intake::MAX_FILES as u64) * 5 + 2 + intake::MAX_FILES as u64
}

/// The server's side: turns a stream of parts into frames.
#[derive(Debug, Default)]
pub struct Framer {
    pending: BytesMut,
}

impl Framer {
    /// A file begins: whatever was pending, then the marker.
    pub fn begin_file(&mut self) -> Vec<Bytes> {
        let mut out = self.flush();
        out.push(Bytes::from_static(&[FILE]));
        out
    }

    /// A part of the current file; frames to send once enough is pending.
    pub fn data(&mut self, part: &[u8]) -> Vec<Bytes> {
        self.pending.extend_from_slice(part);
        if self.pending.len() >= FRAME { self.flush() } else { Vec::new() }
    }

    /// The turns, one per file, ending the input.
    pub fn turns(&mut self, turns: &[intake::Turns]) -> Vec<Bytes> {
        let mut out = self.flush();
        let mut b = BytesMut::with_capacity(2 + turns.len());
        b.put_u8(TURNS);
        b.put_u8(u8::try_from(turns.len()).unwrap_or(u8::MAX));
        for t in turns.iter().take(usize::from(u8::MAX)) {
            b.put_u8(t.count());
        }
        out.push(b.freeze());
        out
    }

    /// What is pending, as one data frame.
    pub fn flush(&mut self) -> Vec<Bytes> {
        if self.pending.is_empty() {
            return Vec::new();
        }
        let data = self.pending.split().freeze();
        let mut head = BytesMut::with_capacity(5);
        head.put_u8(DATA);
        head.put_u32_le(u32::try_from(data.len()).unwrap_or(u32::MAX));
        vec![head.freeze(), data]
    }
}

/// The worker's side: the files and each one's turns.
pub fn decode(input: &[u8]) -> Result<Vec<(Vec<u8>, intake::Turns)>, String> {
    let mut files: Vec<Vec<u8>> = Vec::new();
    let mut turns: Vec<intake::Turns> = Vec::new();
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            FILE => {
                if files.len() == intake::MAX_FILES {
                    return Err(format!("more than {} files", intake::MAX_FILES));
                }
                files.push(Vec::new());
                i += 1;
            }
            DATA => {
                let len = input.get(i + 1..i + 5).ok_or("a cut data frame")?;
                let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
                let data = input.get(i + 5..i + 5 + len).ok_or("a cut data frame")?;
                files.last_mut().ok_or("data before a file")?.extend_from_slice(data);
                i += 5 + len;
            }
            TURNS => {
                let n = usize::from(*input.get(i + 1).ok_or("a cut turns frame")?);
                let list = input.get(i + 2..i + 2 + n).ok_or("a cut turns frame")?;
                turns = list.iter().map(|t| intake::Turns::quarters(*t)).collect();
                i += 2 + n;
            }
            other => return Err(format!("unknown frame {other:#04x}")),
        }
    }
    if !turns.is_empty() && turns.len() != files.len() {
        return Err(format!("{} turns for {} files", turns.len(), files.len()));
    }
    turns.resize(files.len(), intake::Turns::default());
    Ok(files.into_iter().zip(turns).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(frames: &[Vec<Bytes>]) -> Vec<u8> {
        frames.iter().flatten().flat_map(|b| b.to_vec()).collect()
    }

    #[test]
    fn files_and_turns_come_back_as_sent_whatever_the_chunking() {
        let mut f = Framer::default();
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut frames = vec![f.begin_file()];
        // One byte at a time for a while, then large parts.
        for b in &big[..1000] {
            frames.push(f.data(&[*b]));
        }
        for c in big[1000..].chunks(70_000) {
            frames.push(f.data(c));
        }
        frames.push(f.begin_file());
        frames.push(f.data(b"second"));
        frames.push(f.turns(&[intake::Turns::quarters(0), intake::Turns::quarters(1)]));
        let input = join(&frames);
        assert!(input.len() as u64 <= max_input((big.len() + 6) as u64), "framing stays within the allowance");
        let files = decode(&input).unwrap_or_default();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].0, big);
        assert_eq!((files[1].0.as_slice(), files[1].1.count()), (&b"second"[..], 1));
        // Without turns, every file is upright.
        let mut f = Framer::default();
        let input = join(&[f.begin_file(), f.data(b"x"), f.flush()]);
        assert_eq!(decode(&input).map(|v| v[0].1.count()), Ok(0));
    }

    #[test]
    fn a_garbled_input_is_refused() {
        assert!(decode(b"D\x05\0\0\0abc").is_err(), "cut");
        assert!(decode(b"D\x01\0\0\0a").is_err(), "data before a file");
        assert!(decode(b"FX").is_err(), "unknown frame");
        assert!(decode(b"FF\x54\x01\x01").is_err(), "one turn for two files");
        assert!(decode(&[FILE; intake::MAX_FILES + 1]).is_err(), "too many files");
    }
}
