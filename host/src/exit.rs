//! Process exit codes of the `host` command, by what went wrong.

/// The action succeeded.
pub const SUCCESS: i32 = 0;
/// The action ran and failed: the vendor refused, could not be reached, or a
/// platform service failed.
pub const ACTION_FAILED: i32 = 1;
/// Bad input, caught before anything was sent: a parameter, the asset file, an
/// unknown action, or command-line usage.
pub const INVALID_INPUT: i32 = 2;
/// The connector cannot be used: not installed, unreadable, invalid, or (with
/// signing) untrusted.
pub const CONNECTOR: i32 = 3;
/// The sandbox stopped the action: a denied outbound request, the time limit,
/// the memory limit, or a crash of the connector.
pub const SANDBOX: i32 = 4;
/// The host itself failed, or was too busy to run the action.
pub const HOST: i32 = 5;
