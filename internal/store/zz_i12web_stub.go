package store

// TEMPORARY: the i12 contract's store API, stubbed so that branch i12-web
// compiles before branch i12 lands. Deleted at the merge of i12.

import (
	"context"
	"errors"
)

var (
	ErrWrongRole         = errors.New("wrong role")
	ErrOtherConversation = errors.New("message of another conversation")
	errStub              = errors.New("i12 store not merged yet")
)

func (s *Store) EditMessage(ctx context.Context, convID, messageID, content string, start ReplyStart) (user, reply Message, err error) {
	return Message{}, Message{}, errStub
}

func (s *Store) RegenerateMessage(ctx context.Context, convID, messageID string, start ReplyStart) (Message, error) {
	return Message{}, errStub
}

func (s *Store) SwitchBranch(ctx context.Context, convID, messageID string) error { return errStub }

func (s *Store) GetConversationTree(ctx context.Context, id string) (*Conversation, error) {
	return nil, errStub
}
