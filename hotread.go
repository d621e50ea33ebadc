package hotread

import _ "embed" // for go:embed

// Schema is the content of schema.sql: the CREATE statements for every table
// and index that the chatdb queries use. Apply it with your migrations, or
// run it once on an empty database as the tests do. It is not idempotent:
// running it a second time fails on the existing tables.
//
// Schema is a variable only because go:embed requires one. Do not modify it.
//
//go:embed schema.sql
var Schema string
