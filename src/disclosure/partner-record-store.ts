import { isDuplicateKey } from '../db/duplicate-key';
import { Schema, type Connection, type Model, type SchemaDefinition } from 'mongoose';
import type {
  CustomsReceipt,
  DeclarationRecord,
  DeclarationStatus,
  Page,
  PageQuery,
  PartnerRecord,
  PartnerRecordStore,
  ShipmentRecord,
  ShipmentStatus,
} from './disclosure-types';
import { DECLARATION_STATUSES, RETURN_STATUSES, SHIPMENT_STATUSES } from './disclosure-types';
import { ensureModelIndexes } from '../db/indexes';

type PlainDocument = Record<string, unknown>;

interface CounterDocument {
  _id: string;
  seq: number;
}

const counterSchema = new Schema<CounterDocument>(
  { _id: { type: String, required: true }, seq: { type: Number, required: true } },
  { collection: 'disclosure_counters', versionKey: false },
);

function counterModel(connection: Connection): Model<CounterDocument> {
  return (
    (connection.models.DisclosureCounter as Model<CounterDocument> | undefined) ??
    connection.model<CounterDocument>('DisclosureCounter', counterSchema)
  );
}

/**
 * Next value of a named counter: one atomic `$inc`. Values only grow, so a
 * record inserted while a partner pages through a list lands after its
 * cursor instead of shifting the pages it has not read yet.
 */
async function nextSeq(counters: Model<CounterDocument>, name: string): Promise<number> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const counter = await counters
        .findOneAndUpdate(
          { _id: name },
          { $inc: { seq: 1 } },
          { upsert: true, returnDocument: 'after' },
        )
        .lean<CounterDocument>();
      return counter!.seq;
    } catch (error) {
      // Two first-ever upserts race on the same _id: the loser retries as an update.
      if (!isDuplicateKey(error) || attempt >= 2) throw error;
    }
  }
}

const goodsLineSchema = new Schema<PlainDocument>(
  {
    gnum: { type: Number, required: true },
    sku: { type: String, required: true },
    name: { type: String, required: true },
    qty: { type: Number, required: true },
    unitPriceFen: { type: Number, required: true },
    totalPriceFen: { type: Number, required: true },
    product: {
      type: new Schema(
        {
          name: String,
          hsCode: String,
          spec: String,
          originCountry: String,
          unit: String,
          legalUnit: String,
          legalQtyPerUnit: String,
          secondUnit: { type: String, default: null },
          secondQtyPerUnit: { type: String, default: null },
          barCode: { type: String, default: null },
          itemRecordNo: { type: String, default: null },
        },
        { _id: false },
      ),
      default: null,
    },
  },
  { _id: false },
);

const parcelSchema = new Schema<PlainDocument>(
  { grossWeightKg: String, netWeightKg: String },
  { _id: false },
);

function recordSchema(collection: string, statuses: readonly string[], extra: SchemaDefinition) {
  const definition: SchemaDefinition = {
    id: { type: String, required: true },
    seq: { type: Number, required: true },
    orderNo: { type: String, required: true },
    partnerCode: { type: String, required: true },
    identityId: { type: String, required: true },
    status: { type: String, required: true, enum: statuses },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    ...extra,
  };
  const schema = new Schema<PlainDocument>(definition, {
    collection,
    versionKey: false,
    strict: 'throw',
  });
  schema.index({ id: 1 }, { unique: true });
  schema.index({ orderNo: 1 }, { unique: true });
  schema.index({ seq: 1 }, { unique: true });
  // The two pull queries: a partner's records in seq order, optionally by status.
  schema.index({ partnerCode: 1, seq: 1 });
  schema.index({ partnerCode: 1, status: 1, seq: 1 });
  return schema;
}

/** Fields added after records were first stored: what an older document means by their absence. */
type Defaults = PlainDocument;

function strip<R>(document: PlainDocument, defaults: Defaults = {}): R {
  const rest = { ...defaults, ...document };
  delete rest._id;
  return rest as R;
}

/** The records after the cursor, in seq order; one extra is read to know whether more follow. */
async function pageOf<R extends PartnerRecord<S>, S extends string>(
  model: Model<PlainDocument>,
  { partnerCode, status, hidden, afterSeq, limit }: PageQuery<S>,
  defaults: Defaults,
): Promise<Page<R>> {
  const filter: Record<string, unknown> = { partnerCode, seq: { $gt: afterSeq } };
  if (status) filter.status = status;
  else if (hidden?.length) filter.status = { $nin: [...hidden] };
  const found = await model
    .find(filter)
    .sort({ seq: 1 })
    .limit(limit + 1)
    .lean<PlainDocument[]>();
  const items = found.slice(0, limit).map((document) => strip<R>(document, defaults));
  return { items, nextAfter: found.length > limit ? items[items.length - 1]!.seq : null };
}

interface TransitionUpdate<R> {
  set: Partial<Omit<R, 'id' | 'seq' | 'status'>>;
  /** Array fields to append one element to, in the same update. */
  push?: PlainDocument;
}

/** One conditional update: the status filter makes concurrent transitions exclusive. */
async function transitionOf<R extends PartnerRecord<S>, S extends string>(
  model: Model<PlainDocument>,
  match: { id: string; partnerCode?: string },
  from: readonly S[],
  to: S,
  { set, push }: TransitionUpdate<R>,
  defaults: Defaults,
): Promise<R | null> {
  const filter: Record<string, unknown> = { id: match.id, status: { $in: [...from] } };
  if (match.partnerCode !== undefined) filter.partnerCode = match.partnerCode;
  const updated = await model
    .findOneAndUpdate(
      filter,
      { $set: { ...set, status: to, updatedAt: new Date() }, ...(push ? { $push: push } : {}) },
      { returnDocument: 'after' },
    )
    .lean<PlainDocument>();
  return updated ? strip<R>(updated, defaults) : null;
}

interface StoreOptions {
  modelName: string;
  schema: Schema;
  defaults?: Defaults;
}

// Typed loosely on purpose: mongoose's query types over a generic R make tsc explode;
// the schema (strict: 'throw') is what guards the shape, and results are cast once.
function modelOf(connection: Connection, options: StoreOptions): Model<PlainDocument> {
  return (
    (connection.models[options.modelName] as Model<PlainDocument> | undefined) ??
    connection.model<PlainDocument>(options.modelName, options.schema)
  );
}

function createStore<R extends PartnerRecord<S>, S extends string>(
  connection: Connection,
  options: StoreOptions,
): PartnerRecordStore<R, S> {
  const model = modelOf(connection, options);
  const defaults = options.defaults ?? {};
  const counters = counterModel(connection);
  const counterName = options.modelName;

  const findForOrder = async (orderNo: string) => {
    const found = await model.findOne({ orderNo }).lean<PlainDocument>();
    return found ? strip<R>(found, defaults) : null;
  };

  return {
    findForOrder,

    async insertForOrder(record) {
      const existing = await findForOrder(record.orderNo);
      if (existing) return existing;
      const seq = await nextSeq(counters, counterName);
      try {
        await model.create({ ...record, seq });
      } catch (error) {
        // A concurrent insert for the same order won on the unique orderNo index: read its record.
        if (!isDuplicateKey(error)) throw error;
      }
      const stored = await findForOrder(record.orderNo);
      if (!stored) throw new Error('partner record vanished after insert');
      return stored;
    },

    async findOwn(partnerCode, id) {
      const found = await model.findOne({ id, partnerCode }).lean<PlainDocument>();
      return found ? strip<R>(found, defaults) : null;
    },

    page: (query) => pageOf<R, S>(model, query, defaults),

    transition: (match, from, to, set) =>
      transitionOf<R, S>(model, match, from, to, { set }, defaults),

    async ensureIndexes() {
      await ensureModelIndexes(model, counters);
    },
  };
}

export interface DeclarationsStore extends PartnerRecordStore<
  DeclarationRecord,
  DeclarationStatus
> {
  /**
   * Appends a customs receipt and moves the status from one of `from` to `to`
   * (which may be the same), in one conditional update. Null when the record
   * was not in one of `from` (or is not the partner's).
   */
  recordReceipt(
    match: { id: string; partnerCode: string },
    from: readonly DeclarationStatus[],
    to: DeclarationStatus,
    receipt: CustomsReceipt,
    set: Partial<Pick<DeclarationRecord, 'ackedAt' | 'note' | 'releasedAt' | 'returnStatus'>>,
  ): Promise<DeclarationRecord | null>;
}
export type ShipmentsStore = PartnerRecordStore<ShipmentRecord, ShipmentStatus>;

const customsReceiptSchema = new Schema<PlainDocument>(
  {
    returnStatus: { type: String, required: true, enum: RETURN_STATUSES },
    returnTime: { type: Date, default: null },
    returnInfo: { type: String, default: null },
    at: { type: Date, required: true },
  },
  { _id: false },
);

export function createDeclarationsStore(connection: Connection): DeclarationsStore {
  const options: StoreOptions = {
    modelName: 'Declaration',
    schema: recordSchema('declarations', DECLARATION_STATUSES, {
      copNo: { type: String, required: true },
      carrierCode: { type: String, required: true },
      logisticsNo: { type: String, default: null },
      parcel: { type: parcelSchema, default: null },
      goods: { type: [goodsLineSchema], required: true },
      goodsValueFen: { type: Number, required: true },
      freightFen: { type: Number, required: true },
      insuranceFen: { type: Number, required: true },
      taxTotalFen: { type: Number, required: true },
      ackedAt: { type: Date, default: null },
      note: { type: String, default: null },
      releasedAt: { type: Date, default: null },
      returnStatus: { type: String, default: null, enum: RETURN_STATUSES },
      customsReceipts: { type: [customsReceiptSchema], default: [] },
    }),
    // Declarations stored before customs receipts (and waybills) were kept lack these fields.
    defaults: { returnStatus: null, customsReceipts: [], logisticsNo: null, parcel: null },
  };
  const store = createStore<DeclarationRecord, DeclarationStatus>(connection, options);
  const model = modelOf(connection, options);
  return {
    ...store,
    recordReceipt: (match, from, to, receipt, set) =>
      transitionOf<DeclarationRecord, DeclarationStatus>(
        model,
        match,
        from,
        to,
        { set, push: { customsReceipts: receipt } },
        options.defaults ?? {},
      ),
  };
}

export function createShipmentsStore(connection: Connection): ShipmentsStore {
  return createStore<ShipmentRecord, ShipmentStatus>(connection, {
    modelName: 'Shipment',
    schema: recordSchema('shipments', SHIPMENT_STATUSES, {
      itemCount: { type: Number, required: true },
      goodsValueFen: { type: Number, required: true },
      logisticsNo: { type: String, default: null },
      pickedUpAt: { type: Date, default: null },
      deliveredAt: { type: Date, default: null },
    }),
    defaults: { logisticsNo: null },
  });
}
