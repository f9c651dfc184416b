//! Several inputs merged into one tape by local time: the one rule every importer follows.

use crate::error::ImportError;

/// The input to read next when merging several by local time: the one whose current item is
/// earliest, the first given on equal times; `None` when every input is at its end. `at` holds
/// each input's current local time in file order (`None`: at its end). Every multi-file
/// importer merges through this one rule.
pub(crate) fn earliest(at: impl IntoIterator<Item = Option<i64>>) -> Option<usize> {
    at.into_iter().enumerate().filter_map(|(k, t)| t.map(|t| (t, k))).min().map(|(_, k)| k)
}

/// One input of a merge, positioned at its current item (a row, a batch, a record).
pub(crate) trait Cursor {
    /// What moving on needs besides the input itself (e.g. the instruments of the first pass).
    type Context: ?Sized;

    /// Local time of the current item; `None` at the end.
    fn at(&self) -> Option<i64>;

    /// Moves to the next item.
    fn advance(&mut self, cx: &Self::Context) -> Result<(), ImportError>;
}

/// Opens an input for each of `items` with `open` and moves it to its first item, one input
/// after the other.
pub(crate) fn start<C: Cursor, T>(
    items: impl IntoIterator<Item = T>,
    cx: &C::Context,
    mut open: impl FnMut(T) -> Result<C, ImportError>,
) -> Result<Vec<C>, ImportError> {
    let mut inputs = Vec::new();
    for item in items {
        let mut input = open(item)?;
        input.advance(cx)?;
        inputs.push(input);
    }
    Ok(inputs)
}

/// Hands every item of `inputs` to `take`, earliest first (see [`earliest`]), with the index
/// of its input, and moves that input on after each.
pub(crate) fn merge<C: Cursor>(
    inputs: &mut [C],
    cx: &C::Context,
    mut take: impl FnMut(usize, &mut C) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    while let Some(k) = earliest(inputs.iter().map(C::at)) {
        take(k, &mut inputs[k])?;
        inputs[k].advance(cx)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_input_goes_first_and_the_first_given_on_ties() {
        assert_eq!(earliest([Some(5), Some(3), Some(3)]), Some(1));
        assert_eq!(earliest([None, Some(7), Some(2)]), Some(2));
        assert_eq!(earliest([Some(4), None, Some(4)]), Some(0));
        assert_eq!(earliest([None, None]), None);
        assert_eq!(earliest(std::iter::empty()), None);
    }

    /// Items `(time, name)` of one input.
    struct List(Vec<(i64, char)>);

    impl Cursor for List {
        type Context = ();
        fn at(&self) -> Option<i64> {
            self.0.first().map(|x| x.0)
        }
        fn advance(&mut self, _: &()) -> Result<(), ImportError> {
            self.0.remove(0);
            Ok(())
        }
    }

    #[test]
    fn merge_takes_every_item_in_time_order() {
        let mut inputs =
            [List(vec![(1, 'a'), (3, 'c')]), List(vec![(1, 'b'), (2, 'x')]), List(vec![])];
        let mut seen = Vec::new();
        merge(&mut inputs, &(), |k, l| {
            seen.push((k, l.0[0].1));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [(0, 'a'), (1, 'b'), (1, 'x'), (0, 'c')]);
    }
}
