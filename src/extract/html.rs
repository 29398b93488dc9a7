//! HTML: the visible text of the document (scripts, styles and templates
//! left out), parsed with html5ever through `scraper`.

use scraper::{Html, Node};

/// Elements whose content is not text for a reader.
const INVISIBLE: &[&str] = &["script", "style", "template", "noscript", "head"];

/// The text of an HTML document, blocks separated by spaces.
pub fn text_of(bytes: &[u8]) -> Result<String, String> {
    let source = super::text::decode(bytes)?;
    let document = Html::parse_document(&source);
    let mut out = String::with_capacity(source.len() / 2);
    for node in document.tree.root().descendants() {
        if let Node::Text(text) = node.value() {
            let hidden = node
                .ancestors()
                .any(|a| a.value().as_element().is_some_and(|e| INVISIBLE.contains(&e.name())));
            if !hidden {
                out.push_str(text);
                out.push(' ');
            }
        }
    }
    Ok(out.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::text_of;

    #[test]
    fn keeps_visible_text_only() {
        let html = b"<html><head><title>T</title><style>p{}</style></head><body><p>Le conseil</p><script>var x;</script><p>d&eacute;lib&egrave;re</p></body></html>";
        assert_eq!(text_of(html).unwrap(), "Le conseil délibère");
    }
}
