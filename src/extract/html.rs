//! HTML: the visible text of the document (scripts, styles, templates and
//! the head left out), read with html5ever's tokenizer.
//!
//! The tokenizer alone, without a tree: building the tree costs time that
//! grows with the square of the nesting depth (each new element looks back
//! through the elements still open), so that a file of `<div>` nested
//! 200,000 deep took minutes. Reading the tokens in one pass costs time in
//! proportion to the file, however it nests; the text is the same, since
//! only which elements hide their content matters, not the tree's shape.

use std::cell::RefCell;

use html5ever::TokenizerResult;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};

/// Elements whose content is raw text hidden from a reader.
const HIDDEN_RAW: &[&str] = &[
    "script", "style", "noscript", "title", "xmp", "iframe", "noembed", "noframes",
];

/// Elements allowed in the head: any other start tag ends the head.
const HEAD_CONTENT: &[&str] = &[
    "base", "basefont", "bgsound", "link", "meta", "title", "style", "script", "noscript", "template",
];

/// The text of an HTML document, blocks separated by spaces.
pub fn text_of(bytes: &[u8]) -> Result<String, String> {
    let source = super::text::decode(bytes)?;
    let tokenizer = Tokenizer::new(Reader::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from(source.as_str()));
    // The reader never asks to stop for a script, so one feed reads all.
    while let TokenizerResult::Script(()) = tokenizer.feed(&input) {}
    tokenizer.end();
    let out = tokenizer.sink.out.into_inner();
    Ok(out.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Collects the visible text as the tokens come.
#[derive(Default)]
struct Reader {
    out: RefCell<String>,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    /// Inside the raw text of a hidden element (its name).
    raw: Option<String>,
    /// Templates open around the current point.
    templates: usize,
    /// Inside the head.
    head: bool,
}

impl TokenSink for Reader {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut state = self.state.borrow_mut();
        match token {
            Token::CharacterTokens(text) => {
                if state.head && !text.trim().is_empty() && state.raw.is_none() {
                    state.head = false;
                }
                if state.raw.is_none() && state.templates == 0 && !state.head {
                    self.out.borrow_mut().push_str(&text);
                }
            }
            Token::TagToken(tag) => {
                // Text either side of a tag belongs to different nodes.
                self.out.borrow_mut().push(' ');
                let name: &str = &tag.name;
                match tag.kind {
                    TagKind::StartTag => {
                        if name == "head" {
                            state.head = true;
                        } else if name == "body" || (state.head && !HEAD_CONTENT.contains(&name)) {
                            state.head = false;
                        }
                        if tag.self_closing {
                            return TokenSinkResult::Continue;
                        }
                        if name == "template" {
                            state.templates += 1;
                        } else if HIDDEN_RAW.contains(&name) {
                            state.raw = Some(name.to_owned());
                            return TokenSinkResult::RawData(if name == "script" {
                                RawKind::ScriptData
                            } else if name == "title" {
                                RawKind::Rcdata
                            } else {
                                RawKind::Rawtext
                            });
                        } else if name == "textarea" {
                            return TokenSinkResult::RawData(RawKind::Rcdata);
                        } else if name == "plaintext" {
                            return TokenSinkResult::Plaintext;
                        }
                    }
                    TagKind::EndTag => {
                        if state.raw.as_deref() == Some(name) {
                            state.raw = None;
                        } else if name == "template" {
                            state.templates = state.templates.saturating_sub(1);
                        } else if name == "head" {
                            state.head = false;
                        }
                    }
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::text_of;

    #[test]
    fn keeps_visible_text_only() {
        let html = b"<html><head><title>T</title><style>p{}</style></head><body><p>Le conseil</p><script>var x;</script><p>d&eacute;lib&egrave;re</p></body></html>";
        assert_eq!(text_of(html).unwrap(), "Le conseil délibère");
    }

    #[test]
    fn scripts_with_markup_inside_and_templates_stay_hidden() {
        let html = "<title>Titre</title><p>avant</p><script>if (a<b) { document.write('<p>caché</p>') }</script>\
                    <template><p>modèle</p></template><noscript>activez</noscript><textarea>saisie &lt;b&gt;</textarea><p>après</p>";
        assert_eq!(text_of(html.as_bytes()).unwrap(), "avant saisie <b> après");
    }

    #[test]
    fn a_head_without_its_end_tag_ends_at_the_first_visible_element() {
        let html = b"<html><head><meta charset=utf-8><title>T</title><p>Arr\xc3\xaat\xc3\xa9 du maire";
        assert_eq!(text_of(html).unwrap(), "Arrêté du maire");
    }

    #[test]
    fn nesting_two_hundred_thousand_deep_reads_in_one_pass() {
        // Built as a tree, this took minutes (time grows with the square of
        // the depth); read as tokens, it takes as long as any 1.6 MB file.
        let depth = 200_000;
        let mut html = String::with_capacity(depth * 8 + 64);
        html.push_str("<body>");
        for _ in 0..depth {
            html.push_str("<div>a ");
        }
        html.push_str("fin");
        let text = text_of(html.as_bytes()).unwrap();
        assert!(text.ends_with("a a fin"));
        assert_eq!(text.split(' ').count(), depth + 1);
    }
}
