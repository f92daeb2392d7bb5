// The one mingo configuration the server uses: every stock operator, with BSON-aware
// comparison operators, accumulators and $sort swapped in, and $out/$merge left out.
import { Context } from "mingo/core";
import type { Options } from "mingo/types";
import { Lazy } from "mingo/lazy";
import * as accumulatorOperators from "mingo/operators/accumulator";
import * as expressionOperators from "mingo/operators/expression";
import * as pipelineOperators from "mingo/operators/pipeline";
import * as projectionOperators from "mingo/operators/projection";
import * as queryOperators from "mingo/operators/query";
import * as windowOperators from "mingo/operators/window";
import { bsonAccumulators } from "./accumulators.ts";
import { bsonQueryOperators } from "./query-operators.ts";
import { sortDocuments } from "./sort.ts";

function $sort(collection: any, spec: Record<string, unknown>): any {
  return collection.transform((docs: Record<string, unknown>[]) => Lazy(sortDocuments(docs, spec)));
}

const pipeline: Record<string, unknown> = { ...pipelineOperators, $sort };
// $out and $merge write into arrays handed to mingo, not into the store; refusing them is
// better than an aggregation that silently writes nothing.
delete pipeline.$out;
delete pipeline.$merge;

const query = { ...queryOperators, ...bsonQueryOperators } as any;

export const context = Context.init({
  accumulator: { ...accumulatorOperators, ...bsonAccumulators } as any,
  expression: expressionOperators as any,
  pipeline: pipeline as any,
  projection: projectionOperators as any,
  query,
  window: windowOperators as any,
});

// mingo copies the whole operator table for every query, aggregation and update call it
// sets up. Update conditions (positional $, arrayFilters, $pull) need only query
// operators (the updater adds the expression ones it uses), so updates get a small table.
const updateContext = Context.init({ query });

export function mingoOptions(extra: Partial<Options> = {}): Partial<Options> {
  return { context, useStrictMode: true, scriptEnabled: false, ...extra };
}

export function updaterOptions(): Partial<Options> {
  return { context: updateContext, useStrictMode: true, scriptEnabled: false };
}
