//! The segment writer's allocator: power-of-two blocks carved from the
//! heap area (from offset 4096, as in VPP), with per-size free lists so that
//! vectors which grow and move again and again reuse their old blocks.

use super::error::StatsError;

/// Smallest block: a 16-byte vector header plus two words.
const MIN_BLOCK: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Block {
    pub offset: usize,
    pub size: usize,
}

#[derive(Debug)]
pub(crate) struct Heap {
    next: usize,
    end: usize,
    /// `free[k]` holds blocks of `2^k` bytes.
    free: Vec<Vec<usize>>,
}

impl Heap {
    pub fn new(start: usize, end: usize) -> Heap {
        Heap { next: start.next_multiple_of(8), end, free: vec![Vec::new(); usize::BITS as usize] }
    }

    pub fn alloc(&mut self, bytes: usize) -> Result<Block, StatsError> {
        let size = bytes
            .max(MIN_BLOCK)
            .checked_next_power_of_two()
            .ok_or(StatsError::SegmentFull { needed: bytes, size: self.end })?;
        let class = size.trailing_zeros() as usize;
        if let Some(offset) = self.free[class].pop() {
            return Ok(Block { offset, size });
        }
        let offset = self.next;
        let end = offset
            .checked_add(size)
            .filter(|&e| e <= self.end)
            .ok_or(StatsError::SegmentFull { needed: size, size: self.end })?;
        self.next = end;
        Ok(Block { offset, size })
    }

    pub fn free(&mut self, block: Block) {
        let class = block.size.trailing_zeros() as usize;
        self.free[class].push(block.offset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_blocks_are_reused_and_the_end_is_respected() {
        let mut h = Heap::new(4096, 4096 + 256);
        let a = h.alloc(40).unwrap();
        assert_eq!(a, Block { offset: 4096, size: 64 });
        let b = h.alloc(1).unwrap();
        assert_eq!(b.size, 32);
        h.free(a);
        assert_eq!(h.alloc(60).unwrap(), a);
        assert!(matches!(h.alloc(200), Err(StatsError::SegmentFull { .. })));
        assert!(h.alloc(usize::MAX).is_err());
    }
}
