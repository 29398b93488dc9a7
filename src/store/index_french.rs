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
#[derive(Clone)]
pub struct BothStems {
    stemmed_then_folded: TextAnalyzer,
    folded_then_stemmed: TextAnalyzer,
}

impl BothStems {
    pub fn new() -> Self {
        BothStems {
            stemmed_then_folded: query_analyzer(),
            folded_then_stemmed: folded_then_stemmed(),
        }
    }
}

fn tokens_of(analyzer: &mut TextAnalyzer, text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    analyzer.token_stream(text).process(&mut |t| out.push(t.clone()));
    out
}

impl Tokenizer for BothStems {
    type TokenStream<'a> = Tokens;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Tokens {
        let first = tokens_of(&mut self.stemmed_then_folded, text);
        let second = tokens_of(&mut self.folded_then_stemmed, text);
        let mut tokens = Vec::with_capacity(first.len() + first.len() / 8);
        // Both pipelines drop the same words (length, stop words come
        // before stemming and folding), so their tokens pair up by
        // position; should they not, the first pipeline's stand alone.
        let mut other = second.into_iter().peekable();
        for token in first {
            while other.next_if(|t| t.position < token.position).is_some() {}
            let twin = other.next_if(|t| t.position == token.position);
            let position = token.position;
            let text = token.text.clone();
            tokens.push(token);
            if let Some(twin) = twin.filter(|t| t.text != text) {
                tokens.push(Token { position, ..twin });
            }
        }
        Tokens {
            tokens,
            next: 0,
            none: Token::default(),
        }
    }
}

/// The tokens of one text, computed at once.
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

    proptest! {
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
