package convert

import (
	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
)

// CategoryToProto is a stored household category as the API's, for the
// exports that name a household without rendering it.
func CategoryToProto(c domain.Category) pb.HouseholdCategory { return categories.toProto(c) }
