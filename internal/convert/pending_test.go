package convert

import "google.golang.org/protobuf/reflect/protoreflect"

// The contract of issue 11 came before its storage and handlers ("handlers
// follow"): the fields and enum values below are in the API but no row
// holds them and no conversion carries them, so today a client's value for
// them is dropped. They are listed, not hidden: the tests skip each while
// it is missing and fail as soon as a conversion carries it, so that the
// entry is taken off with the work that closes it.

// pendingFields are fields no conversion carries yet.
var pendingFields = map[protoreflect.FullName]string{}

// pendingEnumValues are API values of stored enumerations that the domain
// has no value for yet.
var pendingEnumValues = map[protoreflect.FullName]string{}

// pendingEnums are enums of stored resources with no domain type and no
// mapping yet.
var pendingEnums = map[protoreflect.FullName]string{}
