//! Which slice of a long list one chat message shows.
//!
//! A rep may own thousands of customers; sending the whole list at once is dozens of messages
//! nobody reads and holds every record in memory while it is written. A list is shown a page
//! at a time with buttons to move on; the page number in a button may be stale (the list
//! shrank since) or forged, so it is clamped rather than trusted.

/// One page of a list of `total` items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based, within `1..=pages`.
    pub number: u32,
    pub pages: u32,
    pub per_page: u32,
}

impl Page {
    /// The page `requested` (1-based) of `total` items, clamped into range; an empty list has
    /// one (empty) page.
    pub fn of(total: u64, per_page: u32, requested: u32) -> Self {
        let per_page = per_page.max(1);
        let pages = u32::try_from(total.div_ceil(u64::from(per_page))).unwrap_or(u32::MAX).max(1);
        Self { number: requested.clamp(1, pages), pages, per_page }
    }

    /// How many items come before this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.number - 1) * u64::from(self.per_page)
    }

    pub fn previous(&self) -> Option<u32> {
        (self.number > 1).then(|| self.number - 1)
    }

    pub fn next(&self) -> Option<u32> {
        (self.number < self.pages).then(|| self.number + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_split_into_full_pages_and_a_remainder() {
        let first = Page::of(95, 40, 1);
        assert_eq!((first.number, first.pages, first.offset()), (1, 3, 0));
        assert_eq!((first.previous(), first.next()), (None, Some(2)));
        let last = Page::of(95, 40, 3);
        assert_eq!((last.offset(), last.previous(), last.next()), (80, Some(2), None));
    }

    #[test]
    fn an_exact_multiple_has_no_empty_last_page() {
        assert_eq!(Page::of(80, 40, 1).pages, 2);
        assert_eq!(Page::of(40, 40, 1).next(), None);
    }

    #[test]
    fn stale_or_forged_page_numbers_are_clamped() {
        assert_eq!(Page::of(95, 40, 0).number, 1);
        assert_eq!(Page::of(95, 40, 99).number, 3);
        assert_eq!(Page::of(0, 40, 5), Page { number: 1, pages: 1, per_page: 40 });
        assert_eq!(Page::of(u64::MAX, 1, u32::MAX).number, u32::MAX);
    }
}
