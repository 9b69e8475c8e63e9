package service

import (
	"context"

	pb "github.com/fengdu-county/casework/api/casework/v1"
	"github.com/fengdu-county/casework/internal/convert"
	"github.com/fengdu-county/casework/repository"
)

// A case's notes and history: what was said and done on it.

func (s *Cases) CreateNote(ctx context.Context, req *pb.CreateNoteRequest) (*pb.Note, error) {
	cid, err := caseID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	n := &repository.Note{ID: newID(), CaseID: cid, Author: s.actor(ctx)}
	convert.NoteFromProto(req.GetNote(), n)
	if err := s.store.CreateNote(ctx, n); err != nil {
		return nil, err
	}
	return convert.NoteToProto(n), nil
}

func (s *Cases) ListNotes(ctx context.Context, req *pb.ListNotesRequest) (*pb.ListNotesResponse, error) {
	cid, err := caseID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	query := listQuery("notes", req.GetParent())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListNotes(ctx, cid, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListNotesResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Notes = append(resp.Notes, convert.NoteToProto(&rows[i]))
	}
	return resp, nil
}

func (s *Cases) ListCaseHistory(ctx context.Context, req *pb.ListCaseHistoryRequest) (*pb.ListCaseHistoryResponse, error) {
	cid, err := caseID("parent", req.GetParent())
	if err != nil {
		return nil, err
	}
	query := listQuery("history", req.GetParent())
	after, err := s.pages.decode(req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	rows, next, err := s.store.ListHistory(ctx, cid, repository.Page{Size: int(req.GetPageSize()), After: after})
	if err != nil {
		return nil, err
	}
	resp := &pb.ListCaseHistoryResponse{NextPageToken: s.pages.encode(next, query)}
	for i := range rows {
		resp.Entries = append(resp.Entries, convert.HistoryToProto(&rows[i]))
	}
	return resp, nil
}
