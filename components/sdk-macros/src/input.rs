//! Parsing of the macro's input: `world: "...", wit: [...]`.

use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, LitStr, Token, bracketed};

/// What the connector author wrote.
pub struct ConnectorInput {
    /// The world to build, e.g. `soar:cofense-vision/connector`.
    pub world: LitStr,
    /// WIT package directories, dependencies first, relative to the crate's manifest.
    pub wit: Vec<LitStr>,
}

impl Parse for ConnectorInput {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut world = None;
        let mut wit = None;
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            input.parse::<Token![:]>()?;
            match key.to_string().as_str() {
                "world" => world = Some(input.parse::<LitStr>()?),
                "wit" => {
                    if input.peek(syn::token::Bracket) {
                        let content;
                        bracketed!(content in input);
                        let paths = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
                        wit = Some(paths.into_iter().collect());
                    } else {
                        wit = Some(vec![input.parse::<LitStr>()?]);
                    }
                }
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown key `{other}`: expected `world` or `wit`"),
                    ));
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        let span = input.span();
        let missing = |what: &str| syn::Error::new(span, format!("missing `{what}: ...`"));
        Ok(Self { world: world.ok_or_else(|| missing("world"))?, wit: wit.ok_or_else(|| missing("wit"))? })
    }
}
