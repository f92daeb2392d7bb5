// The conversation engine's public surface: what flow folders, adapters and the
// composition root import. Everything else in this folder is the engine's own business.
export { createEngine } from "./engine.ts";
export type { Engine, EngineFailure, EngineOptions, StoreFlowSource } from "./engine.ts";
export { defineFlow } from "./flow-schema.ts";
export type { FlowSpec, GuardRef, StepSpec, TextSpec, AnswerKind } from "./flow-schema.ts";
export { FlowValidationError, describeProblem } from "./flow-validation.ts";
export type { FlowProblem } from "./flow-validation.ts";
export { combineFlowBundles } from "./flow-bundle.ts";
export type { FlowBundle } from "./flow-bundle.ts";
export { action, actionsFor, END } from "./actions.ts";
export type {
  Action,
  ActionContext,
  ActionDeclaration,
  ActionDefinition,
  ActionRegistry,
  ActionResult,
  AnswerValidator,
  AnswerVerdict,
  ChoiceOffer,
  DeclaredAction,
  EngineLog,
  Guard,
  GuardRegistry,
  GuardVerdict,
  ValidatorRegistry,
} from "./actions.ts";
export { chatKeyOf } from "./message.ts";
export type {
  Audience,
  ChatKey,
  ChoiceView,
  Inbound,
  InboundContact,
  InboundMedia,
  InboundMessage,
  InboundTenant,
  InboundUser,
  InlineText,
  Locale,
  Outbound,
  OutboundMedia,
  PromptRef,
  Text,
  TextParams,
} from "./message.ts";
export { renderText, i18nTexts, normaliseForMatch } from "./texts.ts";
export { ChatQueue } from "./chat-queue.ts";
export type { FlowSet } from "./flow-set.ts";
export type { CompiledFlow } from "./flow-validation.ts";
export { PAGE_NEXT, PAGE_PREV, matchTypedChoice } from "./choice-menu.ts";
export { typedReply } from "./typed-reply.ts";
export { commandChoice, commandChoiceId, commandOfChoice } from "./command-choice.ts";
export { splitMessage } from "./message-split.ts";
export { newErrorId } from "./error-id.ts";
export type { TextCatalog } from "./texts.ts";
export { MemorySessionStore } from "./session.ts";
export type { Conversation, SessionStore, StoredSession } from "./session.ts";
export { MongoSessionStore, ConversationSession } from "./mongo-session-store.ts";
export { MongoStoreFlows, StoreFlow, saveStoreFlow } from "./store-flows.ts";
export { forgetMembership, memberAudience } from "./audience.ts";
export { Channels, FileFetchError, NotSupportedOnChannel, notSent, requireCapability } from "./channel.ts";
export type {
  Capability,
  Channel,
  ChannelAddress,
  ChannelCapabilities,
  ChannelStoresReport,
  MembershipChange,
  SendFailureReason,
  SendOptions,
  SendReport,
  SentOutbound,
  StoreChangeSet,
  UserFiles,
} from "./channel.ts";
export { NOT_COMMITTED, Outbox, withTimeout } from "./outbox.ts";
export type { OutboxMiddleware, OutboxSend } from "./outbox.ts";
export { escapeHtml, pageLocale, sendNoticePage, sendPage } from "./web-page.ts";
export { UNAUTHENTICATED } from "./unauthenticated.ts";
