//! French analysis for the tantivy index: how a text's words and a
//! query's words become the terms that meet.
//!
//! Words are split by tantivy's simple tokenizer (which separates elisions
//! such as `l'`, `d'`, `qu'` from their word), put in lower case, and French
//! stop words dropped. Then comes the catch: the Snowball French stemmer
//! gives a word typed without its accents another stem than the word
//! written with them (`dernière` → `derni` but `derniere` → `dernier`,
//! `sécurité` → `secur` but `securite` → `securit`), and folding the
//! accents before stemming loses other conflations (`créée` no longer
//! meets `créer`). So a text's word is indexed under both stems, at the
//! same position (stemmed then folded, and folded then stemmed), while a
//! query's word is stemmed then folded. A query typed without accents
//! then gets the stem its folded word has in every text, and a query
//! typed with them gets the stem of the correctly written word: both find
//! the text.

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
    Token, TokenStream, Tokenizer,
};

/// The longest token kept; longer ones are noise (hashes, base64).
pub const TOKEN_MAX: usize = 40;

fn stop_words() -> StopWordFilter {
    StopWordFilter::new(Language::French).unwrap_or_else(|| StopWordFilter::remove(Vec::<String>::new()))
}

/// A query's words: lower case, stop words dropped, stemmed, then folded.
pub fn query_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(TOKEN_MAX))
        .filter(LowerCaser)
        .filter(stop_words())
        .filter(Stemmer::new(Language::French))
        .filter(AsciiFoldingFilter)
        .build()
}

fn folded_then_stemmed() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(TOKEN_MAX))
        .filter(LowerCaser)
        .filter(stop_words())
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::French))
        .build()
}

/// A text's words, each under both stems when they differ.
///
/// Both pipelines act on each word alone (the filters neither join nor
/// split words, and keep positions), so the text is split once and each
/// distinct word goes through the pipelines once per indexing thread: a
/// text repeats its words, and the next text repeats them again.
#[derive(Clone)]
pub struct BothStems {
    words: SimpleTokenizer,
    stemmed_then_folded: TextAnalyzer,
    folded_then_stemmed: TextAnalyzer,
}

impl BothStems {
    pub fn new() -> Self {
        BothStems {
            words: SimpleTokenizer::default(),
            stemmed_then_folded: query_analyzer(),
            folded_then_stemmed: folded_then_stemmed(),
        }
    }

    /// A word's terms: none (too long, a stop word), its stem, or its two
    /// stems when they differ.
    fn forms(&mut self, word: &str) -> Forms {
        let first = tokens_of(&mut self.stemmed_then_folded, word).into_iter().next();
        let second = tokens_of(&mut self.folded_then_stemmed, word).into_iter().next();
        first.map(|first| {
            let twin = second.map(|t| t.text).filter(|t| *t != first.text);
            (first.text, twin)
        })
    }
}

/// A word's terms in the index (see [`BothStems::forms`]).
type Forms = Option<(String, Option<String>)>;

/// Distinct words whose terms an indexing thread keeps (a few megabytes);
/// past that, it starts again from none.
const FORMS_KEPT: usize = 100_000;

thread_local! {
    static FORMS: std::cell::RefCell<rustc_hash::FxHashMap<String, Forms>> = Default::default();
}

fn tokens_of(analyzer: &mut TextAnalyzer, text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    analyzer.token_stream(text).process(&mut |t| out.push(t.clone()));
    out
}

impl Tokenizer for BothStems {
    type TokenStream<'a> = Tokens;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Tokens {
        let mut tokens = Vec::new();
        let mut words = self.words.clone();
        let mut stream = words.token_stream(text);
        FORMS.with_borrow_mut(|known| {
            while stream.advance() {
                let word = stream.token();
                if !known.contains_key(word.text.as_str()) {
                    let forms = self.forms(&word.text);
                    if known.len() >= FORMS_KEPT {
                        known.clear();
                    }
                    known.insert(word.text.clone(), forms);
                }
                let Some(Some((first, twin))) = known.get(word.text.as_str()) else {
                    continue;
                };
                // The word's place, with a term's text: one allocation a
                // term, no copy of the word's own text.
                let term = |text: &str| Token {
                    offset_from: word.offset_from,
                    offset_to: word.offset_to,
                    position: word.position,
                    text: text.to_owned(),
                    position_length: word.position_length,
                };
                tokens.push(term(first));
                if let Some(twin) = twin {
                    tokens.push(term(twin));
                }
            }
        });
        Tokens {
            tokens,
            next: 0,
            none: Token::default(),
        }
    }
}

pub struct Tokens {
    tokens: Vec<Token>,
    next: usize,
    /// What `token()` shows before the first `advance()`.
    none: Token,
}

impl TokenStream for Tokens {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        self.next
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .unwrap_or(&self.none)
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.next.checked_sub(1) {
            Some(i) if i < self.tokens.len() => &mut self.tokens[i],
            _ => &mut self.none,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(usize, String)> {
        tokens_of(analyzer, text)
            .into_iter()
            .map(|t| (t.position, t.text))
            .collect()
    }

    fn indexed(text: &str) -> Vec<(usize, String)> {
        let mut analyzer = TextAnalyzer::from(BothStems::new());
        terms(&mut analyzer, text)
    }

    #[test]
    fn a_word_is_indexed_under_both_stems_at_one_position() {
        assert_eq!(
            indexed("La dernière version"),
            [(1, "derni".into()), (1, "dernier".into()), (2, "version".into())]
        );
        // One stem when both pipelines agree.
        assert_eq!(indexed("délibérations"), [(0, "deliber".into())]);
    }

    #[test]
    fn a_query_typed_with_or_without_accents_meets_the_written_word() {
        let mut query = query_analyzer();
        for (written, typed) in [
            ("dernière", "derniere"),
            ("dernière", "dernière"),
            ("sécurité", "securite"),
            ("sécurité", "SÉCURITÉ"),
            ("créée", "créer"),
            ("créée", "creee"),
            ("installée", "installee"),
            ("répertoires", "repertoire"),
            ("élèves", "eleve"),
        ] {
            let stems: Vec<String> = indexed(written).into_iter().map(|(_, t)| t).collect();
            let asked = terms(&mut query, typed);
            assert_eq!(asked.len(), 1, "{typed}");
            assert!(
                stems.contains(&asked[0].1),
                "{typed} ({:?}) misses {written} ({stems:?})",
                asked[0].1
            );
        }
    }

    /// The text's terms as the two pipelines give them on the whole text,
    /// merged by position: what `BothStems` must give.
    fn both_pipelines(text: &str) -> Vec<(usize, usize, usize, String)> {
        let first = tokens_of(&mut query_analyzer(), text);
        let second = tokens_of(&mut folded_then_stemmed(), text);
        let mut out = Vec::new();
        let mut other = second.into_iter().peekable();
        for token in first {
            while other.next_if(|t| t.position < token.position).is_some() {}
            let twin = other.next_if(|t| t.position == token.position);
            out.push((token.position, token.offset_from, token.offset_to, token.text.clone()));
            if let Some(twin) = twin.filter(|t| t.text != token.text) {
                out.push((token.position, token.offset_from, token.offset_to, twin.text));
            }
        }
        out
    }

    fn indexed_fully(text: &str) -> Vec<(usize, usize, usize, String)> {
        let mut analyzer = TextAnalyzer::from(BothStems::new());
        tokens_of(&mut analyzer, text)
            .into_iter()
            .map(|t| (t.position, t.offset_from, t.offset_to, t.text))
            .collect()
    }

    #[test]
    fn a_text_of_a_real_length_gives_the_terms_of_both_pipelines() {
        let text = "La délibération n° 2024-03 du conseil municipal : l'école élémentaire \
                    et les écoles maternelles, DERNIÈRE séance ; qu'il s'agisse des créées \
                    ou des créer, la dernière version. "
            .repeat(40);
        assert_eq!(indexed_fully(&text), both_pipelines(&text));
    }

    proptest! {
        /// Split once and cached word by word, a text gives exactly the
        /// terms, positions and offsets of both pipelines run on it whole.
        #[test]
        fn one_pass_gives_what_both_pipelines_give(text in "[a-zA-Zàâäçéèêëîïôöùûüœ'’ .,;:0-9-]{0,200}") {
            prop_assert_eq!(indexed_fully(&text), both_pipelines(&text));
        }

        /// Whatever the word, typed without its accents it finds the
        /// text that holds it (unless it is a stop word, which no text is
        /// found by).
        #[test]
        fn any_word_is_found_without_its_accents(word in "[a-zàâäçéèêëîïôöùûüœ]{1,15}") {
            let stems: Vec<String> = indexed(&word).into_iter().map(|(_, t)| t).collect();
            prop_assume!(!stems.is_empty());
            let mut fold = TextAnalyzer::builder(SimpleTokenizer::default()).filter(AsciiFoldingFilter).build();
            let bare: Vec<(usize, String)> = terms(&mut fold, &word);
            let mut query = query_analyzer();
            for (_, typed) in bare {
                for (_, asked) in terms(&mut query, &typed) {
                    prop_assert!(stems.contains(&asked), "{typed} asks {asked}, not in {stems:?}");
                }
            }
        }
    }
}
