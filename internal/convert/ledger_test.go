package convert

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/domain"
	"github.com/fengdu-county/casework/repository"
)

func init() {
	domainValues[reflect.TypeFor[domain.ContactChannel]()] = anys(domain.ContactChannels())
	domainValues[reflect.TypeFor[domain.AssistanceKind]()] = anys(domain.AssistanceKinds())
	roundTrips = append(roundTrips,
		roundTrip{
			name: "Contact", msg: &pb.Contact{},
			explicit: map[protoreflect.Name]string{"etag": etagIsTheHandlers},
			via: func(_ *testing.T, p proto.Message) (proto.Message, error) {
				var c repository.Contact
				if err := ContactFromProto("contact", p.(*pb.Contact), &c); err != nil {
					return nil, err
				}
				return ContactToProto(&c), nil
			},
		},
		roundTrip{
			name: "Assistance", msg: &pb.Assistance{},
			via: func(_ *testing.T, p proto.Message) (proto.Message, error) {
				var a repository.Assistance
				if err := AssistanceFromProto("assistance", p.(*pb.Assistance), &a); err != nil {
					return nil, err
				}
				return AssistanceToProto(&a), nil
			},
		},
		roundTrip{
			name: "ContactPolicy", msg: &pb.ContactPolicy{},
			explicit: map[protoreflect.Name]string{"etag": etagIsTheHandlers},
			via: func(_ *testing.T, p proto.Message) (proto.Message, error) {
				var row repository.ContactPolicy
				ContactPolicyFromProto(p.(*pb.ContactPolicy), &row)
				return ContactPolicyToProto(&row), nil
			},
		},
	)
}

// retired explains a plaintext column that migration 00015 replaced by a
// sealed one.
const retired = "the plaintext column migration 00015 retired: written empty, never read"

func ledgerRenderings() []rendering {
	return []rendering{
		{
			name: "Contact", row: func() any { return &repository.Contact{} },
			fix: func(_ *testing.T, row any) {
				c := row.(*repository.Contact)
				c.ContactDate = "2026-03-01"
				c.FollowUps.V = []domain.FollowUp{{Text: "Test", Due: "2026-04-01", Case: "cases/x"}}
			},
			render: func(row any) (proto.Message, error) { return ContactToProto(row.(*repository.Contact)), nil },
			storageOnly: map[string]string{
				"FollowUpsSealed":  "the follow-ups sealed at rest; reads open them into FollowUps and leave it empty",
				"RetiredRaised":    retired,
				"RetiredFollowUps": retired,
			},
		},
		{
			name: "Assistance", row: func() any { return &repository.Assistance{} },
			fix: func(_ *testing.T, row any) { row.(*repository.Assistance).AssistanceDate = "2026-03-01" },
			render: func(row any) (proto.Message, error) {
				return AssistanceToProto(row.(*repository.Assistance)), nil
			},
			storageOnly: map[string]string{"RetiredNote": retired},
		},
		{
			name: "ContactPolicy", row: func() any { return &repository.ContactPolicy{} },
			render: func(row any) (proto.Message, error) {
				return ContactPolicyToProto(row.(*repository.ContactPolicy)), nil
			},
			storageOnly: map[string]string{"ID": "the singleton's one row, always 1"},
		},
	}
}
