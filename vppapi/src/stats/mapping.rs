//! The only module of the crate with `unsafe` code: taking ownership of file
//! descriptors the kernel hands over, and the memory mappings of a stats
//! segment (read-only for readers, read-write for the segment writer).
//!
//! The safe API never hands out references into the shared memory: every
//! access is an atomic load or store of one aligned word (or byte) into a
//! local, after a bounds check. Relaxed atomic loads of at most 8 bytes are
//! also valid on read-only memory (see "Atomic accesses to read-only memory"
//! in `core::sync::atomic`), which is what the reader's mapping is.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::num::NonZeroUsize;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use nix::errno::Errno;
use nix::sys::memfd::{memfd_create, MemFdCreateFlag};
use nix::sys::mman::{mmap, munmap, MapFlags, ProtFlags};
use nix::sys::socket::{accept4, SockFlag};
use nix::sys::stat::fstat;
use nix::unistd::ftruncate;

use super::error::StatsError;
use super::segment::{checked_range, words_read_bytes, words_read_u64, Segment, WordStore};

/// Takes ownership of a descriptor that arrived in an `SCM_RIGHTS` message.
///
/// Only for descriptors the kernel has just installed in this process
/// (received by `recvmsg`): nothing else owns them yet.
pub(crate) fn adopt_received_fd(raw: RawFd) -> Option<OwnedFd> {
    if raw < 0 {
        return None;
    }
    // SAFETY: `raw` was installed into this process by the kernel for the
    // `recvmsg` call that returned it; no other object owns it, so the
    // `OwnedFd` becomes its sole owner and closes it exactly once.
    Some(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// `accept4(listener, SOCK_CLOEXEC)` returning an owned descriptor.
pub(crate) fn accept_connection(listener: &OwnedFd) -> Result<OwnedFd, Errno> {
    let raw = accept4(listener.as_raw_fd(), SockFlag::SOCK_CLOEXEC)?;
    // SAFETY: accept4 succeeded, so `raw` is a new descriptor owned by no
    // one else; the `OwnedFd` closes it exactly once.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// A read-only `MAP_SHARED` mapping of a stats segment received from VPP.
/// Unmapped on drop; the memfd itself is closed right after mapping.
pub struct ReadOnlyMapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory owned by this value; all
// accesses through it are atomic loads, which are sound from any thread.
unsafe impl Send for ReadOnlyMapping {}
// SAFETY: see `Send`; `&ReadOnlyMapping` only allows atomic loads.
unsafe impl Sync for ReadOnlyMapping {}

impl ReadOnlyMapping {
    /// Maps the whole file behind `fd` (size from `fstat`) read-only and
    /// closes `fd`.
    pub fn from_fd(fd: OwnedFd) -> Result<ReadOnlyMapping, StatsError> {
        let st = fstat(fd.as_raw_fd()).map_err(|e| StatsError::os("fstat the stats segment", e))?;
        let len = usize::try_from(st.st_size)
            .map_err(|_| StatsError::corrupt(format!("segment size {} from fstat", st.st_size)))?;
        let nz = NonZeroUsize::new(len).ok_or(StatsError::TooSmall { len })?;
        // SAFETY: a fresh mapping (addr None) of `len` bytes of a file we
        // hold open; it aliases no Rust object. Reads beyond the file's end
        // cannot happen because `len` is the file size and VPP never shrinks
        // its segment.
        let ptr = unsafe { mmap(None, nz, ProtFlags::PROT_READ, MapFlags::MAP_SHARED, &fd, 0) }
            .map_err(|e| StatsError::os("mmap the stats segment", e))?;
        drop(fd);
        Ok(ReadOnlyMapping { ptr: ptr.cast(), len })
    }

    fn load_u64_aligned(&self, offset: usize) -> u64 {
        debug_assert!(offset.is_multiple_of(8) && offset + 8 <= self.len);
        // SAFETY: callers check `offset + 8 <= len` and `offset.is_multiple_of(8)`; the
        // mapping is page aligned, so the pointer is in bounds and 8-aligned.
        // Only a relaxed atomic load is performed (valid on read-only memory),
        // and the reference does not outlive this call.
        unsafe { AtomicU64::from_ptr(self.ptr.as_ptr().add(offset).cast::<u64>()) }.load(Ordering::Relaxed)
    }

    fn load_u8(&self, offset: usize) -> u8 {
        debug_assert!(offset < self.len);
        // SAFETY: callers check `offset < len`; a relaxed atomic byte load of
        // mapped memory, the reference does not outlive this call.
        unsafe { AtomicU8::from_ptr(self.ptr.as_ptr().add(offset)) }.load(Ordering::Relaxed)
    }
}

impl Segment for ReadOnlyMapping {
    fn len(&self) -> usize {
        self.len
    }

    fn read_u64(&self, offset: usize) -> Option<u64> {
        checked_range(offset, 8, self.len)?;
        if offset.is_multiple_of(8) {
            return Some(self.load_u64_aligned(offset));
        }
        let mut b = [0u8; 8];
        self.read_bytes(offset, &mut b).then(|| u64::from_ne_bytes(b))
    }

    fn read_bytes(&self, offset: usize, out: &mut [u8]) -> bool {
        if checked_range(offset, out.len(), self.len).is_none() {
            return false;
        }
        let mut pos = 0;
        while pos < out.len() {
            let at = offset + pos;
            if at.is_multiple_of(8) && out.len() - pos >= 8 {
                out[pos..pos + 8].copy_from_slice(&self.load_u64_aligned(at).to_ne_bytes());
                pos += 8;
            } else {
                out[pos] = self.load_u8(at);
                pos += 1;
            }
        }
        true
    }
}

impl Drop for ReadOnlyMapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned and no reference
        // into the mapping outlives a method call, so nothing uses it after.
        if let Err(e) = unsafe { munmap(self.ptr.cast(), self.len) } {
            log::warn!("stats: munmap of the stats segment failed: {e}");
        }
    }
}

/// A read-write `MAP_SHARED` mapping of a memfd the segment writer owns.
pub struct WritableMapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: all accesses through the mapping are atomic operations on aligned
// words, which are sound from any thread.
unsafe impl Send for WritableMapping {}
// SAFETY: see `Send`.
unsafe impl Sync for WritableMapping {}

impl WritableMapping {
    /// Creates a zero-filled memfd of `len` bytes (rounded up to a page) and
    /// maps it read-write. Returns the memfd (to pass to readers) and the
    /// mapping.
    pub fn create_memfd(name: &CStr, len: usize) -> Result<(OwnedFd, WritableMapping), StatsError> {
        let len = len.div_ceil(4096).max(1) * 4096;
        let fd = memfd_create(name, MemFdCreateFlag::MFD_CLOEXEC)
            .map_err(|e| StatsError::os("memfd_create for the stats segment", e))?;
        let size = i64::try_from(len).map_err(|_| StatsError::invalid(format!("segment size {len}")))?;
        ftruncate(&fd, size).map_err(|e| StatsError::os("ftruncate the stats segment", e))?;
        let nz = NonZeroUsize::new(len).ok_or(StatsError::TooSmall { len })?;
        // SAFETY: a fresh shared mapping of the whole memfd we just sized; it
        // aliases no Rust object and the file is never shrunk.
        let ptr = unsafe {
            mmap(None, nz, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE, MapFlags::MAP_SHARED, &fd, 0)
        }
        .map_err(|e| StatsError::os("mmap the stats segment read-write", e))?;
        Ok((fd, WritableMapping { ptr: ptr.cast(), len }))
    }

    fn word(&self, index: usize) -> Option<&AtomicU64> {
        if index >= self.len / 8 {
            return None;
        }
        // SAFETY: `index < len / 8`, and the mapping is page aligned, so the
        // pointer is in bounds and 8-aligned; the memory is readable and
        // writable for the mapping's lifetime, which bounds the returned
        // reference (tied to `&self`). Every access through it is atomic,
        // so concurrent readers (other mappings of the memfd) do not race.
        Some(unsafe { AtomicU64::from_ptr(self.ptr.as_ptr().add(index * 8).cast::<u64>()) })
    }
}

impl WordStore for WritableMapping {
    fn word_count(&self) -> usize {
        self.len / 8
    }
    fn load_word(&self, index: usize, order: Ordering) -> Option<u64> {
        self.word(index).map(|w| w.load(order))
    }
    fn store_word(&self, index: usize, value: u64, order: Ordering) -> bool {
        match self.word(index) {
            Some(w) => {
                w.store(value, order);
                true
            }
            None => false,
        }
    }
    fn fetch_add_word(&self, index: usize, delta: u64, order: Ordering) -> Option<u64> {
        self.word(index).map(|w| w.fetch_add(delta, order))
    }
}

impl Segment for WritableMapping {
    fn len(&self) -> usize {
        self.len
    }
    fn read_u64(&self, offset: usize) -> Option<u64> {
        words_read_u64(self, offset)
    }
    fn read_bytes(&self, offset: usize, out: &mut [u8]) -> bool {
        words_read_bytes(self, offset, out)
    }
}

impl Drop for WritableMapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are what mmap returned; references into the
        // mapping are tied to `&self` and cannot outlive the drop.
        if let Err(e) = unsafe { munmap(self.ptr.cast(), self.len) } {
            log::warn!("stats: munmap of the writer's segment failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "sockets, memfd and mmap are foreign calls Miri cannot run")]
    fn writer_and_reader_mappings_share_the_memfd() {
        let (fd, w) = WritableMapping::create_memfd(c"test-seg", 100).unwrap();
        assert_eq!(Segment::len(&w), 4096);
        assert!(w.store_word(3, 0x1122_3344_5566_7788, Ordering::Release));
        assert!(!w.store_word(512, 1, Ordering::Relaxed));
        let r = ReadOnlyMapping::from_fd(fd.try_clone().unwrap()).unwrap();
        assert_eq!(r.len(), 4096);
        assert_eq!(r.read_u64(24), Some(0x1122_3344_5566_7788));
        assert_eq!(r.read_u64(25), w.read_u64(25));
        assert_eq!(r.read_u64(4089), None);
        let mut b = [0u8; 11];
        assert!(r.read_bytes(21, &mut b));
        let mut c = [0u8; 11];
        assert!(w.read_bytes(21, &mut c));
        assert_eq!(b, c);
        w.fetch_add_word(3, 1, Ordering::Relaxed);
        assert_eq!(r.read_u64(24), Some(0x1122_3344_5566_7789));
    }
}
