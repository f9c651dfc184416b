//! The crate's error type: what failed, where, and what to do about it.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a latency-lab command failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read or written.
    Io {
        /// What we were doing, e.g. "writing the interval log".
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// An input file is malformed.
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number (0 when the position is a byte offset given in `message`).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A command-line value is unusable.
    Argument {
        /// The flag, e.g. `--cores`.
        flag: &'static str,
        /// What is wrong and what is accepted.
        message: String,
    },
    /// The strategy could not be loaded or failed while running.
    Strategy {
        /// Strategy name.
        name: String,
        /// Which implementation: `native`, `wasm` or `jvm`.
        runner: &'static str,
        /// The underlying error text.
        message: String,
    },
    /// Drawing a chart failed.
    Plot {
        /// The output file.
        path: PathBuf,
        /// The backend's message.
        message: String,
    },
    /// A measurement thread could not be started or pinned.
    Thread {
        /// What failed.
        message: String,
    },
    /// No JDK here, so the JVM column cannot run.
    NoJdk {
        /// The program not found (`javac` or `java`).
        missing: &'static str,
    },
    /// A program we run (`javac`, `java`) could not start or failed.
    Tool {
        /// The command line.
        command: String,
        /// Its exit status, or why it could not start.
        status: String,
        /// What it printed on stderr (or stdout, when that is where the trouble shows).
        output: String,
    },
}

impl Error {
    /// An I/O error with context.
    pub(crate) fn io(what: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::Io { what, path: path.to_path_buf(), source }
    }

    /// A parse error at `path:line`.
    pub(crate) fn parse(path: &Path, line: usize, message: impl Into<String>) -> Self {
        Error::Parse { path: path.to_path_buf(), line, message: message.into() }
    }

    /// A bad flag value.
    pub(crate) fn arg(flag: &'static str, message: impl Into<String>) -> Self {
        Error::Argument { flag, message: message.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { what, path, source } => {
                write!(f, "{what} `{}` failed: {source}", path.display())?;
                match source.kind() {
                    std::io::ErrorKind::NotFound => f.write_str(" (check the path)"),
                    std::io::ErrorKind::PermissionDenied => {
                        f.write_str(" (check permissions or choose another --out)")
                    }
                    _ => Ok(()),
                }
            }
            Error::Parse { path, line, message } if *line > 0 => {
                write!(f, "{}:{line}: {message}", path.display())
            }
            Error::Parse { path, message, .. } => write!(f, "{}: {message}", path.display()),
            Error::Argument { flag, message } => write!(f, "{flag}: {message}"),
            Error::Strategy { name, runner, message } => {
                write!(f, "strategy `{name}` ({runner}): {message}")
            }
            Error::Plot { path, message } => {
                write!(f, "drawing `{}` failed: {message}", path.display())
            }
            Error::Thread { message } => write!(f, "measurement thread: {message}"),
            Error::NoJdk { missing: "javac" } => f.write_str(
                "no JDK: javac not found in $JAVA_HOME/bin or on PATH (install one, e.g. `apt-get install openjdk-17-jdk-headless`)",
            ),
            Error::NoJdk { missing } => write!(f, "no JDK: javac found but {missing} is missing"),
            Error::Tool { command, status, output } => {
                write!(f, "{command} failed ({status}): {}", output.trim())
            }
        }
    }
}

// Display already carries the underlying error, so `source` is left empty: reporting the
// chain as well (anyhow's `{:#}`) would print it twice.
impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_and_where() {
        let e = Error::parse(Path::new("run.hgrm"), 7, "expected 4 numbers");
        assert_eq!(e.to_string(), "run.hgrm:7: expected 4 numbers");
        let e = Error::io(
            "reading the interval log",
            Path::new("/nope/x.hlog"),
            std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        assert!(e.to_string().contains("/nope/x.hlog") && e.to_string().contains("check the path"));
        let e = Error::arg("--cores", "core 9 does not exist; available: 0-1");
        assert_eq!(e.to_string(), "--cores: core 9 does not exist; available: 0-1");
    }
}
