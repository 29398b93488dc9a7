//! A synthetic French corpus for the search benchmarks (invoices,
//! deliberations, letters, mandates, orders of a commune), and the query
//! mix both benchmarks run over it.

use chrono::NaiveDate;

const SUPPLIERS: &[&str] = &[
    "Papeterie Dupont",
    "Bâtiment Martin",
    "Électricité Moreau",
    "Transports Girard",
    "Informatique Lefèvre",
    "Restauration Bernard",
    "Espaces verts Roux",
    "Chauffage Fournier",
];
const OBJECTS: &[&str] = &[
    "fournitures scolaires",
    "travaux de toiture",
    "entretien de l'éclairage public",
    "transport des élèves",
    "maintenance du parc informatique",
    "repas de la cantine",
    "tonte des espaces verts",
    "chauffage du gymnase",
];
const PLACES: &[&str] = &[
    "l'école Jules Ferry",
    "la mairie",
    "le gymnase municipal",
    "la médiathèque",
    "la salle des fêtes",
    "le centre technique",
    "la crèche",
    "le cimetière",
];
const SUBJECTS: &[&str] = &[
    "le budget primitif",
    "les tarifs de la cantine",
    "une subvention à l'association sportive",
    "la rénovation de l'école",
    "le plan local d'urbanisme",
    "la création d'un poste",
    "la convention avec le département",
    "le marché public de voirie",
];
const STREETS: &[&str] = &[
    "rue Pasteur",
    "avenue de la République",
    "place de l'Église",
    "rue Victor Hugo",
    "chemin des Écoliers",
    "boulevard Gambetta",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

pub struct Doc {
    pub node: &'static str,
    pub title: String,
    pub body: String,
    pub date: NaiveDate,
}

/// A French text of `bytes` bytes at most (cut at a character's end):
/// `first_word`, then the corpus's documents from the `from`th, title and
/// body, one after the other.
#[allow(dead_code)] // only the benchmarks that index long texts
pub fn text_of(first_word: &str, from: u64, bytes: usize) -> String {
    let mut text = format!("{first_word} ");
    let mut i = from;
    while text.len() < bytes {
        let d = document(i);
        text.push_str(&d.title);
        text.push_str(". ");
        text.push_str(&d.body);
        text.push(' ');
        i += 1;
    }
    let mut end = bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

/// The `i`-th document of the corpus (the same for every run).
pub fn document(i: u64) -> Doc {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15 ^ (i + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    let date = NaiveDate::from_ymd_opt(2010, 1, 1).unwrap_or_default() + chrono::Days::new(r.next() % 5800);
    let amount = r.next() % 100_000;
    match r.next() % 5 {
        0 => Doc {
            node: "FIN-FAC",
            title: format!("Facture {} n° {}", r.pick(SUPPLIERS), 1000 + i),
            body: format!(
                "Facture émise par {} pour {} à {}. Montant hors taxes : {},{:02} euros. Paiement à trente jours par mandat administratif. Référence de la commande {}. Livraison effectuée {}.",
                r.pick(SUPPLIERS),
                r.pick(OBJECTS),
                r.pick(PLACES),
                amount / 100,
                amount % 100,
                r.next() % 9999,
                r.pick(STREETS)
            ),
            date,
        },
        1 => Doc {
            node: "ADM-DEL",
            title: format!("Délibération du conseil municipal sur {}", r.pick(SUBJECTS)),
            body: format!(
                "Le conseil municipal, régulièrement convoqué, s'est réuni à {}. Après en avoir délibéré, il approuve {} et autorise le maire à signer les pièces relatives à {}. Votes : {} pour, {} contre, {} abstentions. Délibérations transmises au contrôle de légalité.",
                r.pick(PLACES),
                r.pick(SUBJECTS),
                r.pick(OBJECTS),
                r.next() % 25,
                r.next() % 5,
                r.next() % 5
            ),
            date,
        },
        2 => Doc {
            node: "ADM-COU",
            title: format!("Courrier relatif à {}", r.pick(SUBJECTS)),
            body: format!(
                "Madame, Monsieur, nous accusons réception de votre demande concernant {}. Les services de {} étudieront votre dossier et vous répondront dans les meilleurs délais. Veuillez agréer nos salutations distinguées. Affaire suivie par le secrétariat, {}.",
                r.pick(OBJECTS),
                r.pick(PLACES),
                r.pick(STREETS)
            ),
            date,
        },
        3 => Doc {
            node: "FIN-MAN",
            title: format!("Mandat de paiement {}", 5000 + i),
            body: format!(
                "Mandat de paiement au profit de {} pour la facture relative à {}. Imputation budgétaire chapitre {}. Montant : {} euros. Bordereau transmis au comptable public.",
                r.pick(SUPPLIERS),
                r.pick(OBJECTS),
                10 + r.next() % 60,
                amount
            ),
            date,
        },
        _ => Doc {
            node: "ADM-ARR",
            title: format!("Arrêté portant réglementation du stationnement {}", r.pick(STREETS)),
            body: format!(
                "Le maire, vu le code général des collectivités territoriales, arrête : le stationnement est interdit {} pendant les travaux de {}. Les contrevenants s'exposent à une amende. Ampliation à la gendarmerie et à {}.",
                r.pick(STREETS),
                r.pick(OBJECTS),
                r.pick(PLACES)
            ),
            date,
        },
    }
}

/// A query of the mix.
pub struct Case {
    /// Query text, in both engines' syntax (websearch_to_tsquery for PostgreSQL).
    pub text: &'static str,
    pub node: Option<&'static str>,
    pub from: Option<&'static str>,
    pub to: Option<&'static str>,
}

/// The query mix: words, a phrase, an exclusion, node and date filters.
pub const CASES: &[Case] = &[
    Case {
        text: "facture",
        node: None,
        from: None,
        to: None,
    },
    Case {
        text: "délibération",
        node: None,
        from: None,
        to: None,
    },
    Case {
        text: "école",
        node: None,
        from: None,
        to: None,
    },
    Case {
        text: "chauffage gymnase",
        node: None,
        from: None,
        to: None,
    },
    Case {
        text: "\"fournitures scolaires\"",
        node: None,
        from: None,
        to: None,
    },
    Case {
        text: "subvention association",
        node: Some("ADM-DEL"),
        from: None,
        to: None,
    },
    Case {
        text: "stationnement -gendarmerie",
        node: None,
        from: None,
        to: None,
    },
    Case {
        text: "Dupont",
        node: Some("FIN-FAC"),
        from: Some("2015-01-01"),
        to: Some("2016-12-31"),
    },
    Case {
        text: "mandat comptable",
        node: None,
        from: Some("2020-01-01"),
        to: None,
    },
    Case {
        text: "urbanisme",
        node: None,
        from: None,
        to: None,
    },
];

/// Words of the corpus people would look for: suppliers' names, what was
/// bought or decided, places, streets.
const LOOKED_FOR: &[&str] = &[
    "Dupont",
    "Martin",
    "Moreau",
    "Girard",
    "Lefèvre",
    "Bernard",
    "Roux",
    "Fournier",
    "fournitures",
    "toiture",
    "éclairage",
    "élèves",
    "informatique",
    "cantine",
    "tonte",
    "gymnase",
    "école",
    "mairie",
    "médiathèque",
    "fêtes",
    "crèche",
    "cimetière",
    "budget",
    "tarifs",
    "subvention",
    "rénovation",
    "urbanisme",
    "poste",
    "convention",
    "voirie",
    "Pasteur",
    "République",
    "Église",
    "Hugo",
    "Écoliers",
    "Gambetta",
];

/// `count` searches that all differ (two words of the corpus, from a year
/// or not), in an order of their own: a search made once, where the mix
/// repeats its ten.
#[allow(dead_code)] // the in-process benchmark runs the mix only
pub fn distinct(count: usize) -> Vec<(String, Option<String>)> {
    let mut all = Vec::new();
    for (i, a) in LOOKED_FOR.iter().enumerate() {
        for (j, b) in LOOKED_FOR.iter().enumerate() {
            if i == j {
                continue;
            }
            for year in std::iter::once(None).chain((2010..2025).map(Some)) {
                all.push((format!("{a} {b}"), year.map(|y| format!("{y}-01-01"))));
            }
        }
    }
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    // Fisher-Yates, with the corpus's generator.
    for k in (1..all.len()).rev() {
        let other = (r.next() % (k as u64 + 1)) as usize;
        all.swap(k, other);
    }
    all.truncate(count);
    all
}
