package store

// Passwords returns every spelling of dsn's password that Redact masks
// (URL userinfo raw, decoded and escaped; key=value, quoted or not),
// longest first. A tool that masks output which re-encodes text (a log
// handler quoting values) derives the encoded spellings from these.
func Passwords(dsn string) []string { return passwords(dsn) }
