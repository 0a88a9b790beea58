//! What every HTML page shares: the language and its number and time formats (`i18n`), the
//! frames around the residents' and the technicians' pages (`layout`), and charts with their
//! data tables (`chart`). Pages are built
//! with maud, which escapes every value it is given; text that is HTML already has to be
//! wrapped in `PreEscaped` where it is written, so that no unescaped output goes unseen.

pub(crate) mod chart;
pub(crate) mod i18n;
pub(crate) mod layout;
