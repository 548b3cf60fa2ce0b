//! A TOML value tree that remembers where every key and value starts, so that validation can
//! point at a line. `toml::Value` forgets positions; `toml::Spanned` keeps them per node.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use toml::Spanned;

#[derive(Debug, Clone)]
pub enum Node {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Array(Vec<Spanned<Node>>),
    Table(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl Node {
    /// The TOML type name, for "expected a string, found an integer" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Str(_) => "a string",
            Node::Int(_) => "an integer",
            Node::Float(_) => "a float",
            Node::Bool(_) => "a boolean",
            Node::Array(_) => "an array",
            Node::Table(_) => "a table",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a TOML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        i64::try_from(v).map(Node::Int).map_err(|_| E::custom("integer too large"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Table(entries))
    }
}

/// Turns byte offsets into 1-based line numbers.
pub struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(source: &str) -> Self {
        let starts = std::iter::once(0).chain(source.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Self { starts }
    }

    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset).max(1)
    }

    pub fn last(&self) -> usize {
        self.starts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_keep_their_lines() {
        let source = "a = 1\n\n[t]\nb = \"x\"\n[[s]]\nc = [true, 2.5]\n";
        let root: Node = toml::from_str(source).unwrap();
        let lines = Lines::new(source);
        let Node::Table(entries) = root else { panic!("root is a table") };
        let found: Vec<(String, usize)> = entries.iter().map(|(k, _)| (k.get_ref().clone(), lines.line(k.span().start))).collect();
        assert_eq!(found, [("a".to_owned(), 1), ("t".to_owned(), 3), ("s".to_owned(), 5)]);
        let Node::Table(t) = entries[1].1.get_ref() else { panic!("t is a table") };
        assert_eq!(lines.line(t[0].0.span().start), 4);
        let Node::Array(s) = entries[2].1.get_ref() else { panic!("s is an array") };
        let Node::Table(first) = s[0].get_ref() else { panic!("s[0] is a table") };
        assert_eq!(lines.line(first[0].1.span().start), 6);
        assert_eq!(first[0].1.get_ref().kind(), "an array");
    }

    #[test]
    fn offsets_map_to_lines() {
        let lines = Lines::new("ab\ncd\n");
        assert_eq!([lines.line(0), lines.line(2), lines.line(3), lines.line(6)], [1, 1, 2, 3]);
        assert_eq!(lines.last(), 3);
    }
}
