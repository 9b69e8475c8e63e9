package sheet

import (
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/fengdu-county/casework/api/casework/v1"
)

// The labels of the columns only the exported ledgers have.
var (
	ContactChannel = labels(pb.ContactChannel(0).Descriptor(),
		n(pb.ContactChannel_CONTACT_CHANNEL_HOME_VISIT, "上门走访"),
		n(pb.ContactChannel_CONTACT_CHANNEL_PHONE, "电话"),
		n(pb.ContactChannel_CONTACT_CHANNEL_VIDEO, "视频"),
		n(pb.ContactChannel_CONTACT_CHANNEL_SERVICE_STATION, "服务站来访"),
	)
	AssistanceKind = labels(pb.AssistanceKind(0).Descriptor(),
		n(pb.AssistanceKind_ASSISTANCE_KIND_LIVING, "生活困难"),
		n(pb.AssistanceKind_ASSISTANCE_KIND_MEDICAL, "医疗救助"),
		n(pb.AssistanceKind_ASSISTANCE_KIND_EDUCATION, "助学"),
		n(pb.AssistanceKind_ASSISTANCE_KIND_DISASTER, "受灾救助"),
		n(pb.AssistanceKind_ASSISTANCE_KIND_OTHER, "其他"),
	)
	VisitForm = labels(pb.VisitForm(0).Descriptor(),
		n(pb.VisitForm_VISIT_FORM_IN_PERSON, "上门"),
		n(pb.VisitForm_VISIT_FORM_PHONE, "电话"),
	)
	MeasureKind = labels(pb.MeasureKind(0).Descriptor(),
		n(pb.MeasureKind_MEASURE_KIND_DISCOUNT, "优惠折扣"),
		n(pb.MeasureKind_MEASURE_KIND_PRIORITY_SERVICE, "优先服务"),
		n(pb.MeasureKind_MEASURE_KIND_FREE_SERVICE, "免费服务"),
		n(pb.MeasureKind_MEASURE_KIND_EMPLOYMENT, "就业"),
		n(pb.MeasureKind_MEASURE_KIND_EDUCATION, "教育"),
		n(pb.MeasureKind_MEASURE_KIND_MEDICAL, "医疗"),
		n(pb.MeasureKind_MEASURE_KIND_LEGAL, "法律服务"),
		n(pb.MeasureKind_MEASURE_KIND_OTHER, "其他"),
	)
	MeasureState = labels(pb.MeasureState(0).Descriptor(),
		n(pb.MeasureState_MEASURE_STATE_PROPOSED, "拟定"),
		n(pb.MeasureState_MEASURE_STATE_ACTIVE, "实施中"),
		n(pb.MeasureState_MEASURE_STATE_SUSPENDED, "暂停"),
		n(pb.MeasureState_MEASURE_STATE_EXITED, "已退出"),
	)
)

// LedgerLabels lists the tables of the exported ledgers' columns.
func LedgerLabels() []*Labels {
	return []*Labels{ContactChannel, AssistanceKind, VisitForm, MeasureKind, MeasureState}
}

// Label is l's label of a proto enum value, "" for UNSPECIFIED.
func Label[E interface {
	Number() protoreflect.EnumNumber
}](l *Labels, e E) string {
	s, _ := l.Label(e.Number())
	return s
}
