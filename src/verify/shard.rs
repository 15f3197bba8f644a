//! `specproof verify --shard K/N`: one of N parallel jobs runs the K-th share of the criteria a
//! verify run would cover.
//!
//! The split depends only on what is selected: every criterion (and every row of a task that
//! cannot be verified) has a key, its owner (the task ID, or `_plan/<plan stem>`) and its
//! criterion ID; the distinct keys are sorted (byte order) and dealt round-robin, the i-th (from
//! 0) to shard i mod N + 1. Equal keys go to the same shard. So the shards are disjoint, cover
//! the unsharded run, differ in size by one at most, and agree on every machine and run.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::{Report, Row, Unit};

/// Which share of the criteria a run takes: shard `index` of `count`, `1 <= index <= count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    /// Shard `index` of `count`; an error saying what is wrong unless `1 <= index <= count`.
    pub fn new(index: usize, count: usize) -> Result<Self, String> {
        if count == 0 {
            return Err(format!(
                "N must be at least 1: expected K/N with 1 <= K <= N, for example {}",
                Self::EXAMPLE
            ));
        }
        if index == 0 || index > count {
            return Err(format!(
                "K must be between 1 and N ({count}): expected K/N with 1 <= K <= N, for example {}",
                Self::EXAMPLE
            ));
        }
        Ok(Self { index, count })
    }

    const EXAMPLE: &str = "2/3 (the second of three shards)";

    /// K, from 1.
    pub fn index(self) -> usize {
        self.index
    }

    /// N.
    pub fn count(self) -> usize {
        self.count
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let Some((k, n)) = s.split_once('/') else {
            return Err(format!(
                "expected K/N, shard K of N with 1 <= K <= N, for example {}",
                Self::EXAMPLE
            ));
        };
        let number = |part: &str| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse::<usize>().ok()
        };
        match (number(k), number(n)) {
            (Some(k), Some(n)) => Self::new(k, n),
            _ => Err(format!(
                "K and N must be whole numbers: expected K/N with 1 <= K <= N, for example {}",
                Self::EXAMPLE
            )),
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a sharded run says about its shard (`shard` in verify's JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ShardReport {
    /// K.
    pub index: usize,
    /// N.
    pub count: usize,
    /// The criteria (rows) of this shard.
    pub criteria: usize,
    /// The criteria (rows) of the run without `--shard`, across all N shards.
    pub unsharded_criteria: usize,
}

/// For each of `keys`, whether `shard` takes it: the distinct keys, sorted, are dealt
/// round-robin; equal keys go to the same shard.
pub fn split<K: Ord>(keys: &[K], shard: Shard) -> Vec<bool> {
    let mut distinct: Vec<&K> = keys.iter().collect();
    distinct.sort_unstable();
    distinct.dedup();
    keys.iter()
        .map(|key| {
            // Always found: `distinct` holds every key.
            let position = distinct.binary_search(&key).unwrap_or_else(|at| at);
            position % shard.count + 1 == shard.index
        })
        .collect()
}

/// Keeps the rows and units of `shard` only, and records the shard in the report.
pub(super) fn keep(shard: Shard, units: &mut Vec<Unit>, report: &mut Report) {
    let keys: Vec<(String, &str)> = report
        .rows
        .iter()
        .map(row_key)
        .chain(
            units
                .iter()
                .map(|u| (u.owner.clone(), u.criterion.id.as_str())),
        )
        .collect();
    let taken = split(&keys, shard);
    let unsharded_criteria = keys.len();
    let (rows_taken, units_taken) = taken.split_at(report.rows.len());
    let mut rows_taken = rows_taken.iter();
    report.rows.retain(|_| rows_taken.next() == Some(&true));
    let mut units_taken = units_taken.iter();
    units.retain(|_| units_taken.next() == Some(&true));
    report.shard = Some(ShardReport {
        index: shard.index,
        count: shard.count,
        criteria: report.rows.len() + units.len(),
        unsharded_criteria,
    });
}

/// The key of a row that will not run (a refused task, a fabricated criterion…): its task, or
/// the owner of a plan-level criterion's evidence, and its criterion (`-` for a whole task).
fn row_key(row: &Row) -> (String, &str) {
    let owner = row
        .task
        .clone()
        .unwrap_or_else(|| super::plan_owner(row.plan.as_deref().unwrap_or_default()));
    (owner, row.criterion.as_str())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn shard(k: usize, n: usize) -> Shard {
        Shard::new(k, n).expect("a valid shard")
    }

    #[test]
    fn k_of_n_parses_and_prints_back() {
        for text in ["1/1", "2/3", "3/3", "10/12"] {
            let s: Shard = text.parse().expect(text);
            assert_eq!(s.to_string(), text);
        }
        assert_eq!(
            "2/3".parse::<Shard>().map(|s| (s.index(), s.count())),
            Ok((2, 3))
        );
    }

    #[test]
    fn bad_values_name_the_form_k_of_n() {
        for (text, says) in [
            ("0/3", "K must be between 1 and N (3)"),
            ("4/3", "K must be between 1 and N (3)"),
            ("1/0", "N must be at least 1"),
            ("0/0", "N must be at least 1"),
            ("x", "expected K/N"),
            ("3", "expected K/N"),
            ("", "expected K/N"),
            ("a/3", "whole numbers"),
            ("1/b", "whole numbers"),
            ("-1/3", "whole numbers"),
            ("+1/3", "whole numbers"),
            (" 1/3", "whole numbers"),
            ("1/3/5", "whole numbers"),
            ("/3", "whole numbers"),
            ("99999999999999999999999/3", "whole numbers"),
        ] {
            let error = text.parse::<Shard>().expect_err(text);
            assert!(error.contains(says), "{text:?}: {error}");
            assert!(error.contains("K/N"), "{text:?}: {error}");
        }
    }

    #[test]
    fn the_sorted_keys_are_dealt_round_robin_in_byte_order() {
        // Byte order: "C-10" sorts before "C-2".
        let keys = ["C-2", "C-10", "C-1", "C-3", "C-10"];
        let taken = |k| {
            let mask = split(&keys, shard(k, 2));
            keys.iter()
                .zip(mask)
                .filter_map(|(key, t)| t.then_some(*key))
                .collect::<Vec<_>>()
        };
        // Sorted distinct: C-1, C-10, C-2, C-3.
        assert_eq!(taken(1), ["C-2", "C-1"]);
        assert_eq!(taken(2), ["C-10", "C-3", "C-10"]);
    }

    fn keys() -> impl Strategy<Value = Vec<(String, String)>> {
        prop::collection::vec(
            ("(T-[0-9]{1,2}|_plan/[a-z]{1,3})", "[A-Z]-[0-9]{1,3}"),
            0..60,
        )
    }

    proptest! {
        #[test]
        fn shards_are_disjoint_cover_everything_and_are_balanced(keys in keys(), n in 1usize..9) {
            let masks: Vec<Vec<bool>> = (1..=n).map(|k| split(&keys, shard(k, n))).collect();
            for i in 0..keys.len() {
                let holders = masks.iter().filter(|m| m[i]).count();
                prop_assert_eq!(holders, 1, "key {:?} is in {} shards", keys[i], holders);
                for j in 0..keys.len() {
                    if keys[i] == keys[j] {
                        prop_assert!(masks.iter().all(|m| m[i] == m[j]), "equal keys {:?} split", keys[i]);
                    }
                }
            }
            let mut distinct = keys.clone();
            distinct.sort();
            distinct.dedup();
            let sizes: Vec<usize> = masks
                .iter()
                .map(|m| {
                    let mut mine: Vec<_> = keys.iter().zip(m).filter(|(_, t)| **t).map(|(k, _)| k).collect();
                    mine.sort();
                    mine.dedup();
                    mine.len()
                })
                .collect();
            prop_assert_eq!(sizes.iter().sum::<usize>(), distinct.len());
            let (min, max) = (sizes.iter().min().copied(), sizes.iter().max().copied());
            prop_assert!(max.unwrap_or(0) - min.unwrap_or(0) <= 1, "sizes {:?}", sizes);
        }

        #[test]
        fn a_keys_shard_depends_on_the_set_of_keys_not_their_order(
            keys in keys(),
            n in 1usize..9,
            seed in any::<u64>(),
        ) {
            // Another order of the same keys (a rotation and a reversal chosen by the seed).
            let mut other = keys.clone();
            if !other.is_empty() {
                let at = usize::try_from(seed % other.len() as u64).unwrap_or(0);
                other.rotate_left(at);
            }
            if seed % 2 == 0 {
                other.reverse();
            }
            for k in 1..=n {
                let here: std::collections::BTreeSet<_> = keys
                    .iter()
                    .zip(split(&keys, shard(k, n)))
                    .filter_map(|(key, t)| t.then_some(key))
                    .collect();
                let there: std::collections::BTreeSet<_> = other
                    .iter()
                    .zip(split(&other, shard(k, n)))
                    .filter_map(|(key, t)| t.then_some(key))
                    .collect();
                prop_assert_eq!(&here, &there);
                // And the same on a second call.
                prop_assert_eq!(split(&keys, shard(k, n)), split(&keys, shard(k, n)));
            }
        }

        #[test]
        fn one_shard_takes_everything(keys in keys()) {
            prop_assert!(split(&keys, shard(1, 1)).into_iter().all(|t| t));
        }
    }
}
