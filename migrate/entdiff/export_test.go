package entdiff

// CheckWith and WriteWith are Check and Write with the registry replaced by
// objs, so tests can register objects without affecting each other.
var (
	CheckWith = check
	WriteWith = write
)
