//! Buffers aligned for O_DIRECT, without unsafe: an over-allocated Vec and an
//! offset to the first aligned byte. The heap block never moves (the Vec is
//! never grown), so the alignment holds for the buffer's whole life, also
//! while the ring thread owns it during a request.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};

/// Identities of buffers, never reused: the ring's registered-buffer table
/// matches buffers by identity, not by address.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Buffer aligned for O_DIRECT (alignment = the file's logical block size).
pub struct AlignedBuf {
    mem: Vec<u8>,
    start: usize,
    len: usize,
    capacity: usize,
    align: usize,
    id: u64,
}

impl AlignedBuf {
    /// A zeroed buffer of `capacity` bytes whose first byte is aligned to
    /// `align` (rounded up to a power of two). Its length starts at `capacity`.
    pub fn new(capacity: usize, align: usize) -> AlignedBuf {
        let align = align.max(1).next_power_of_two();
        let mem = vec![0u8; capacity + align];
        let start = mem.as_ptr().align_offset(align).min(align);
        AlignedBuf {
            mem,
            start,
            len: capacity,
            capacity,
            align,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sets the length; values above the capacity are clamped to it.
    pub fn set_len(&mut self, n: usize) {
        self.len = n.min(self.capacity);
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn align(&self) -> usize {
        self.align
    }

    /// The whole capacity, regardless of the length.
    pub fn full_mut(&mut self) -> &mut [u8] {
        &mut self.mem[self.start..self.start + self.capacity]
    }

    pub(crate) fn as_ptr(&self) -> *const u8 {
        self[..].as_ptr()
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Address and size of the whole capacity (for buffer registration).
    pub(crate) fn region(&mut self) -> (*mut u8, usize) {
        let cap = self.capacity;
        (self.full_mut().as_mut_ptr(), cap)
    }

    /// True when the start address is a multiple of `align`.
    pub(crate) fn is_aligned_to(&self, align: usize) -> bool {
        align <= 1 || (self.as_ptr() as usize).is_multiple_of(align)
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.mem[self.start..self.start + self.len]
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.mem[self.start..self.start + self.len]
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.len)
            .field("capacity", &self.capacity)
            .field("align", &self.align)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_sized() {
        for align in [512, 4096, 65536] {
            let mut b = AlignedBuf::new(10_000, align);
            assert_eq!(b.as_ptr() as usize % align, 0);
            assert_eq!(b.len(), 10_000);
            b.set_len(20_000);
            assert_eq!(b.len(), 10_000);
            b.set_len(3);
            assert_eq!(&b[..], &[0, 0, 0]);
            b[2] = 7;
            assert_eq!(b.full_mut()[2], 7);
        }
        assert_eq!(AlignedBuf::new(0, 3).align(), 4);
    }
}
