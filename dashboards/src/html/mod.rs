//! What every HTML page shares: the language and its number and time formats (`i18n`), and
//! the frames around the residents' and the technicians' pages (`layout`). Pages are built
//! with maud, which escapes every value it is given; text that is HTML already has to be
//! wrapped in `PreEscaped` where it is written, so that no unescaped output goes unseen.

pub(crate) mod i18n;
pub(crate) mod layout;
