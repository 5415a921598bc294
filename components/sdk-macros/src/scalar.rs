//! The types an action parameter may have: the WIT scalars the host can bind
//! from text, with their Rust types and the literals a default becomes.

use proc_macro2::{Literal, TokenStream};
use quote::quote;
use wit_parser::{Resolve, Type, TypeDefKind};

/// A WIT scalar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    Bool,
    U8,
    U16,
    U32,
    U64,
    S8,
    S16,
    S32,
    S64,
    F32,
    F64,
    Char,
    String,
}

impl Scalar {
    /// The scalar `ty` is, seeing through type aliases (`type json = string`).
    pub fn of(resolve: &Resolve, ty: &Type) -> Option<Self> {
        Some(match ty {
            Type::Bool => Self::Bool,
            Type::U8 => Self::U8,
            Type::U16 => Self::U16,
            Type::U32 => Self::U32,
            Type::U64 => Self::U64,
            Type::S8 => Self::S8,
            Type::S16 => Self::S16,
            Type::S32 => Self::S32,
            Type::S64 => Self::S64,
            Type::F32 => Self::F32,
            Type::F64 => Self::F64,
            Type::Char => Self::Char,
            Type::String => Self::String,
            Type::Id(id) => match &resolve.types[*id].kind {
                TypeDefKind::Type(inner) => return Self::of(resolve, inner),
                _ => return None,
            },
            Type::ErrorContext => return None,
        })
    }

    /// The Rust type wit-bindgen gives a value of this type.
    pub fn rust_type(self) -> TokenStream {
        match self {
            Self::Bool => quote!(bool),
            Self::U8 => quote!(u8),
            Self::U16 => quote!(u16),
            Self::U32 => quote!(u32),
            Self::U64 => quote!(u64),
            Self::S8 => quote!(i8),
            Self::S16 => quote!(i16),
            Self::S32 => quote!(i32),
            Self::S64 => quote!(i64),
            Self::F32 => quote!(f32),
            Self::F64 => quote!(f64),
            Self::Char => quote!(char),
            Self::String => quote!(::std::string::String),
        }
    }

    /// The Rust expression for `text` read as a value of this type, or why it
    /// is not one. The forms are the plain ones (`true`, `50`, `0.5`, `ANY`):
    /// a default is written once and shown to users as written.
    pub fn literal(self, text: &str) -> Result<TokenStream, String> {
        let not = |what: &str| format!("`{text}` is not {what}");
        let int = |what: &str| not(&format!("an integer of type {what}"));
        let literal = match self {
            Self::Bool => match text {
                "true" => quote!(true),
                "false" => quote!(false),
                _ => return Err(not("`true` or `false`")),
            },
            Self::U8 => lit(Literal::u8_suffixed(text.parse().map_err(|_| int("u8"))?)),
            Self::U16 => lit(Literal::u16_suffixed(text.parse().map_err(|_| int("u16"))?)),
            Self::U32 => lit(Literal::u32_suffixed(text.parse().map_err(|_| int("u32"))?)),
            Self::U64 => lit(Literal::u64_suffixed(text.parse().map_err(|_| int("u64"))?)),
            Self::S8 => lit(Literal::i8_suffixed(text.parse().map_err(|_| int("s8"))?)),
            Self::S16 => lit(Literal::i16_suffixed(text.parse().map_err(|_| int("s16"))?)),
            Self::S32 => lit(Literal::i32_suffixed(text.parse().map_err(|_| int("s32"))?)),
            Self::S64 => lit(Literal::i64_suffixed(text.parse().map_err(|_| int("s64"))?)),
            Self::F32 | Self::F64 => {
                let number =
                    text.parse::<f64>().ok().filter(|n| n.is_finite()).ok_or_else(|| not("a finite number"))?;
                if self == Self::F32 {
                    lit(Literal::f32_suffixed(number as f32))
                } else {
                    lit(Literal::f64_suffixed(number))
                }
            }
            Self::Char => {
                let mut chars = text.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => lit(Literal::character(c)),
                    _ => return Err(not("a single character")),
                }
            }
            Self::String => quote!(::std::string::String::from(#text)),
        };
        Ok(literal)
    }
}

fn lit(literal: Literal) -> TokenStream {
    quote!(#literal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_must_read_as_their_type() {
        assert_eq!(Scalar::U32.literal("50").unwrap().to_string(), "50u32");
        assert_eq!(Scalar::Bool.literal("false").unwrap().to_string(), "false");
        assert!(Scalar::String.literal("ANY").unwrap().to_string().contains("\"ANY\""));
        for (scalar, bad, why) in [
            (Scalar::U32, "-1", "an integer of type u32"),
            (Scalar::U8, "256", "an integer of type u8"),
            (Scalar::U32, "5.0", "an integer of type u32"),
            (Scalar::Bool, "yes", "`true` or `false`"),
            (Scalar::F64, "inf", "a finite number"),
            (Scalar::Char, "ab", "a single character"),
        ] {
            assert_eq!(scalar.literal(bad).unwrap_err(), format!("`{bad}` is not {why}"));
        }
    }
}
