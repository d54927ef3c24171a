// Package ent holds the client generated from ent/schema. Do not edit the
// generated files; change ent/schema and run `make generate`.
package ent

//go:generate go tool ent generate --feature sql/versioned-migration,sql/execquery ./schema
