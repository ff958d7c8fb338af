//! Reading a local object ahead of its reader: downloads are decrypted
//! and sent while the next blocks are already coming off the device.

use std::io;

/// Downloads read ahead: a blocking thread reads the object in blocks of
/// [`READ_BLOCK`] into a channel [`READ_AHEAD`] blocks deep, so decryption
/// and the client's socket never wait on the device (and the device never
/// waits on them). Memory: at most `READ_AHEAD + 2` blocks (6 MiB) per
/// object being read. The thread stops when the reader is dropped.
const READ_BLOCK: usize = 1 << 20;
const READ_AHEAD: usize = 4;

pub(super) struct ReadAhead {
    blocks: tokio::sync::mpsc::Receiver<io::Result<bytes::Bytes>>,
    /// What is left of the block being handed out.
    cur: bytes::Bytes,
    done: bool,
}

impl ReadAhead {
    pub(super) fn start(mut file: std::fs::File) -> Self {
        let (tx, blocks) = tokio::sync::mpsc::channel(READ_AHEAD);
        tokio::task::spawn_blocking(move || {
            use std::io::Read;
            loop {
                let mut block = bytes::BytesMut::zeroed(READ_BLOCK);
                let mut filled = 0;
                let read = loop {
                    match file.read(&mut block[filled..]) {
                        Ok(0) => break Ok(()),
                        Ok(n) => {
                            filled += n;
                            if filled == READ_BLOCK {
                                break Ok(());
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
                block.truncate(filled);
                // The end of the object, or an error: the last item.
                let last = filled < READ_BLOCK || read.is_err();
                let item = read.map(|()| block.freeze());
                let empty = item.as_ref().is_ok_and(bytes::Bytes::is_empty);
                // A dropped reader (the client went away) stops the thread.
                let gone = !empty && tx.blocking_send(item).is_err();
                if last || gone {
                    return;
                }
            }
        });
        Self { blocks, cur: bytes::Bytes::new(), done: false }
    }
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
