//! Containers and artifacts saved by ingestion actions.
