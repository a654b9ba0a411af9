//! Meetings → the team's meeting-notes Markdown, through minijinja templates.
//!
//! The built-in templates live in `config/templates/` and are compiled into the binary; a team
//! can point `format` at its own template, which gets the same context (see [`context`]). The
//! renderer is given template text: reading a team's template file is the caller's business.

pub mod context;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::domain::{Format, Meeting};

pub const PLANNING_TEMPLATE: &str = include_str!("../../../config/templates/planning.md.j2");
pub const STANDUP_TEMPLATE: &str = include_str!("../../../config/templates/standup.md.j2");

/// A template that failed to compile or render, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{name}{}: {detail}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Template {
        name: String,
        line: Option<usize>,
        detail: String,
    },
}

impl RenderError {
    fn from_minijinja(name: &str, err: &minijinja::Error) -> Self {
        let mut detail = err
            .detail()
            .map_or_else(|| err.kind().to_string(), str::to_string);
        if err.detail().is_some() {
            detail = format!("{}: {detail}", err.kind());
        }
        RenderError::Template {
            name: name.to_string(),
            line: err.line(),
            detail,
        }
    }
}

/// Which template a team renders with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateRef {
    Builtin(Format),
    /// A template file, by the name it was loaded under (its path).
    Custom(String),
}

/// Holds the compiled templates.
pub struct Renderer {
    env: Environment<'static>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    /// A renderer with the built-in templates.
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_keep_trailing_newline(true);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for format in Format::ALL {
            env.add_template(format.name(), builtin_source(format))
                .expect("built-in templates compile");
        }
        Renderer { env }
    }

    /// Compiles a template from source under `name`; syntax errors name the line.
    pub fn add_template(&mut self, name: &str, source: String) -> Result<(), RenderError> {
        self.env
            .add_template_owned(name.to_string(), source)
            .map_err(|e| RenderError::from_minijinja(name, &e))
    }

    /// Renders one meeting.
    pub fn render(&self, template: &TemplateRef, meeting: &Meeting) -> Result<String, RenderError> {
        let name = match template {
            TemplateRef::Builtin(format) => format.name(),
            TemplateRef::Custom(name) => name.as_str(),
        };
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| RenderError::from_minijinja(name, &e))?;
        let ctx = context::Context::new(meeting);
        tmpl.render(&ctx)
            .map_err(|e| RenderError::from_minijinja(name, &e))
    }
}

pub fn builtin_source(format: Format) -> &'static str {
    match format {
        Format::Planning => PLANNING_TEMPLATE,
        Format::Standup => STANDUP_TEMPLATE,
    }
}

#[cfg(test)]
mod tests;
