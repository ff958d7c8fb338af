//! Reading a local object ahead of its reader: downloads are decrypted
//! and sent while the next blocks are already coming off the device.

use std::io;

/// Downloads read ahead: the object is read in blocks of
/// [`READ_BLOCK`] into a channel [`READ_AHEAD`] blocks deep, so decryption
/// and the client's socket never wait on the device (and the device never
/// waits on them). Memory: at most `READ_AHEAD + 2` blocks (6 MiB) per
/// object being read. Reading stops when the reader is dropped.
const READ_BLOCK: usize = 1 << 20;
const READ_AHEAD: usize = 4;

pub(super) struct ReadAhead {
    blocks: tokio::sync::mpsc::Receiver<io::Result<bytes::Bytes>>,
    /// What is left of the block being handed out.
    cur: bytes::Bytes,
    done: bool,
}

impl ReadAhead {
    /// Starts reading `file` ahead, `len` bytes long (objects are never
    /// written again once stored). A task sends the blocks; each read runs
    /// on a blocking thread only while it reads, so a slow client holds a
    /// few buffers but no thread (a thread per download would let a few
    /// hundred slow readers take the whole blocking pool).
    pub(super) fn start(file: std::fs::File, len: u64) -> Self {
        let (tx, blocks) = tokio::sync::mpsc::channel(READ_AHEAD);
        tokio::spawn(async move {
            let mut file = file;
            let mut left = len;
            loop {
                // A block is sized to what is left: most objects (a 300 KB
                // rendition) are one block, and a full-size block for each
                // kept 1 MiB per download in the allocator's arenas.
                let want = usize::try_from(left).map_or(READ_BLOCK, |l| l.min(READ_BLOCK));
                let (back, read) = match tokio::task::spawn_blocking(move || {
                    let read = read_block(&mut file, want);
                    (file, read)
                })
                .await
                {
                    Ok(done) => done,
                    Err(e) => {
                        let _ = tx.send(Err(io::Error::other(e))).await;
                        return;
                    }
                };
                file = back;
                if let Ok(b) = &read {
                    left = left.saturating_sub(b.len() as u64);
                }
                // The end of the object, or an error: the last item.
                let last = read.as_ref().map_or(true, |b| b.len() < want || left == 0);
                let empty = read.as_ref().is_ok_and(bytes::Bytes::is_empty);
                // A dropped reader (the client went away) stops the task.
                let gone = !empty && tx.send(read).await.is_err();
                if last || gone {
                    return;
                }
            }
        });
        Self { blocks, cur: bytes::Bytes::new(), done: false }
    }
}

/// Reads up to `want` bytes; fewer only at the end of the file. The buffer
/// is filled by the reads themselves, not zeroed first.
fn read_block(file: &mut std::fs::File, want: usize) -> io::Result<bytes::Bytes> {
    use std::io::Read;
    let mut block = Vec::with_capacity(want);
    file.take(want as u64).read_to_end(&mut block)?;
    Ok(bytes::Bytes::from(block))
}

impl tokio::io::AsyncRead for ReadAhead {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        use std::task::Poll;
        let this = self.get_mut();
        loop {
            if !this.cur.is_empty() {
                let n = this.cur.len().min(buf.remaining());
                buf.put_slice(&this.cur.split_to(n));
                return Poll::Ready(Ok(()));
            }
            if this.done {
                return Poll::Ready(Ok(()));
            }
            match std::task::ready!(this.blocks.poll_recv(cx)) {
                Some(Ok(block)) => this.cur = block,
                Some(Err(e)) => {
                    this.done = true;
                    return Poll::Ready(Err(e));
                }
                None => this.done = true,
            }
        }
    }
}
