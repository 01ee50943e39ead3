//! A small SQL builder for lists whose filters are optional. sqlx's `QueryBuilder` writes `?`
//! placeholders for the `Any` driver, which PostgreSQL rejects; this writes `$n`, which both
//! backends accept.

use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments, Encode, Type};

#[derive(Default)]
pub struct Sql {
    text: String,
    args: AnyArguments<'static>,
    count: usize,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql { text: text.to_owned(), ..Default::default() }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a `$n` placeholder bound to `value`.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'static, Any> + Type<Any> + Send + 'static,
    {
        self.count += 1;
        self.text.push_str(&format!("${}", self.count));
        // Encoding into the Any buffer only copies the value; it cannot fail for our types.
        let _ = self.args.add(value);
        self
    }

    /// Appends `($1, $2, …)` bound to `values`, for `in` lists (never empty: `in ()` is not SQL).
    pub fn bind_list(&mut self, values: &[String]) -> &mut Self {
        self.push("(");
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value.clone());
        }
        self.push(")")
    }

    /// Appends `(select column1 from (values ($1), ($2), …) as listed)` bound to `values`, for
    /// `in` lists on indexed columns (never empty). A plain `in ($1, $2)` there has SQLite (with
    /// STAT4 statistics, after `analyze`) estimate each bound value while planning, and then
    /// re-plan the cached statement at every execution: that cost a change's settling more than
    /// running its statements. Read from `values`, the list is rows to the planner, not values.
    pub fn bind_rows(&mut self, values: &[String]) -> &mut Self {
        self.push("(select column1 from (values ");
        for (i, value) in values.iter().enumerate() {
            self.push(if i == 0 { "(" } else { ", (" }).bind(value.clone()).push(")");
        }
        self.push(") as listed)")
    }

    /// Appends the condition that `column` (an identity id) is one of `of`.
    pub fn identities(&mut self, column: &str, of: Identities<'_>) -> &mut Self {
        match of {
            Identities::Listed(ids) => self.push(&format!("{column} in ")).bind_rows(ids),
            Identities::Range { after, last } => {
                self.push(&format!("{column} > ")).bind(after.to_owned()).push(&format!(" and {column} <= ")).bind(last.to_owned())
            }
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn into_parts(self) -> (String, AnyArguments<'static>) {
        (self.text, self.args)
    }
}

/// Which identities a statement concerns: those a change touched, listed, or every identity in an
/// id range (a rebuild's batch). A range reads each table by index between two bound ids, in
/// one ordered pass; the same batch as a plain `in` list of thousands of bound ids cost SQLite a
/// fresh plan per execution (STAT4 estimates every listed value; see `bind_rows`), which made
/// rebuilds three times slower.
#[derive(Debug, Clone, Copy)]
pub enum Identities<'a> {
    Listed(&'a [String]),
    /// Ids greater than `after`, up to and including `last`.
    Range {
        after: &'a str,
        last: &'a str,
    },
}

impl Identities<'_> {
    pub fn is_empty(&self) -> bool {
        matches!(self, Identities::Listed(ids) if ids.is_empty())
    }
}
