//! What `run()` keeps of a stream: its head and its tail, so that a guest
//! that prints forever costs the host a bounded amount.

use std::collections::VecDeque;

use bytes::Bytes;

/// Output that `run()` keeps per stream: the first and the last half of it,
/// with a marker line where the middle was cut. A guest that prints forever
/// costs the host this much, not more.
pub const RUN_OUTPUT_LIMIT: usize = 8 * 1024 * 1024;

/// The head and the tail of a stream, up to a limit; what lies between is
/// counted and replaced by one marker line.
pub(super) struct CappedOutput {
    half: usize,
    head: Vec<u8>,
    tail: VecDeque<Bytes>,
    tail_len: usize,
    omitted: u64,
}

impl CappedOutput {
    pub(super) fn new(limit: usize) -> Self {
        Self { half: limit / 2, head: Vec::new(), tail: VecDeque::new(), tail_len: 0, omitted: 0 }
    }

    pub(super) fn push(&mut self, mut data: Bytes) {
        let room = self.half - self.head.len();
        if room > 0 {
            let n = room.min(data.len());
            self.head.extend_from_slice(&data[..n]);
            data = data.slice(n..);
        }
        if data.is_empty() {
            return;
        }
        self.tail_len += data.len();
        self.tail.push_back(data);
        while self.tail_len > self.half {
            let excess = self.tail_len - self.half;
            let front = self.tail.front_mut().expect("tail holds the excess");
            let cut = excess.min(front.len());
            *front = front.slice(cut..);
            if front.is_empty() {
                self.tail.pop_front();
            }
            self.tail_len -= cut;
            self.omitted += cut as u64;
        }
    }

    pub(super) fn finish(self) -> Vec<u8> {
        let mut out = self.head;
        if self.omitted > 0 {
            out.extend_from_slice(
                format!("\n[ai-sdk-microsandbox: {} bytes of output omitted]\n", self.omitted).as_bytes(),
            );
        }
        for chunk in self.tail {
            out.extend_from_slice(&chunk);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capped(limit: usize, chunks: &[&[u8]]) -> String {
        let mut out = CappedOutput::new(limit);
        for chunk in chunks {
            out.push(Bytes::copy_from_slice(chunk));
        }
        String::from_utf8(out.finish()).unwrap()
    }

    #[test]
    fn output_within_the_limit_is_kept_whole() {
        assert_eq!(capped(8, &[b"ab", b"cd", b"efgh"]), "abcdefgh");
        assert_eq!(capped(8, &[]), "");
    }

    #[test]
    fn output_beyond_the_limit_keeps_head_and_tail_and_says_what_was_cut() {
        assert_eq!(
            capped(8, &[b"abc", b"defghij", b"kl", b"mnop"]),
            "abcd\n[ai-sdk-microsandbox: 8 bytes of output omitted]\nmnop"
        );
        let flood: Vec<&[u8]> = std::iter::repeat_n(&b"0123456789"[..], 1000).collect();
        let ten = "0123456789".repeat(5);
        assert_eq!(capped(100, &flood), format!("{ten}\n[ai-sdk-microsandbox: 9900 bytes of output omitted]\n{ten}"));
    }
}
