//! `page`, `size` and `sort`, shared by the list actions.

use soar_sdk::http::Request;
use soar_sdk::prelude::*;
use soar_sdk::validate;

const MAX_SIZE: u64 = 2000;

/// Validated paging parameters.
pub struct Paging {
    page: u32,
    size: u32,
    sort: Vec<String>,
}

impl Paging {
    /// Checks `size` (1..=2000) and `sort` (`field[:asc|desc]`, comma-separated,
    /// fields from `sort_fields`). The defaults of `page` and `size` are the
    /// WIT's (`@default`).
    pub fn new(page: u32, size: u32, sort: Option<&str>, sort_fields: &[&str]) -> Result<Self, ActionError> {
        let size = validate::non_zero_at_most("size", size.into(), MAX_SIZE)? as u32;
        Ok(Self { page, size, sort: sort.map(|sort| parse_sort(sort, sort_fields)).transpose()?.unwrap_or_default() })
    }

    /// Adds `page` and `size`.
    pub fn page_and_size(&self, request: Request) -> Request {
        request.query("page", self.page).query("size", self.size)
    }

    /// Adds one `sort=field[,order]` per sort item.
    pub fn sort(&self, request: Request) -> Request {
        self.sort.iter().fold(request, |request, sort| request.query("sort", sort))
    }
}

/// `createdDate:desc, id` → `["createdDate,desc", "id"]`.
fn parse_sort(sort: &str, fields: &[&str]) -> Result<Vec<String>, ActionError> {
    let invalid = || {
        ActionError::invalid_parameter(
            "sort",
            format!(
                "Please provide a valid value in the 'sort' parameter: field[:asc|desc] items separated by commas, with fields from {}",
                fields.join(", ")
            ),
        )
    };
    validate::comma_list(sort)
        .iter()
        .map(|item| {
            let parts: Vec<&str> = item.split(':').map(str::trim).collect();
            match parts.as_slice() {
                [field] if fields.contains(field) => Ok(field.to_string()),
                [field, order] if fields.contains(field) && ["asc", "desc"].contains(order) => {
                    Ok(format!("{field},{order}"))
                }
                _ => Err(invalid()),
            }
        })
        .collect()
}

/// Python's spelling of a boolean, which the reference connector sends in queries.
pub fn python_bool(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_items_become_repeated_query_values() {
        let fields = ["createdDate", "id"];
        assert_eq!(parse_sort("createdDate:desc  ,, ,id:asc", &fields).unwrap(), vec!["createdDate,desc", "id,asc"]);
        assert_eq!(parse_sort("id", &fields).unwrap(), vec!["id"]);
        for bad in ["name", "id:up", "id:asc:x", "ID:asc"] {
            let err = parse_sort(bad, &fields).unwrap_err();
            assert!(err.message().contains("'sort'"), "{bad}");
        }
    }

    #[test]
    fn size_is_checked() {
        assert!(Paging::new(0, 0, None, &[]).is_err());
        assert!(Paging::new(0, 2001, None, &[]).is_err());
        assert!(Paging::new(3, 2000, None, &[]).is_ok());
    }
}
