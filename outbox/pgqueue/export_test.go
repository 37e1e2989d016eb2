package pgqueue

// MigrateTo is migrateTo for the tests: a database of an earlier schema
// version, to migrate from.
var MigrateTo = migrateTo
