import Joi from 'joi';
import { route, type RouteDefinition } from '../http/route';
import { clearText, identifier } from '../http/schemas';
import { CUSTOMS_COUNTRIES, CUSTOMS_UNITS } from './code-lists';
import { positiveDecimal } from './exact-decimal';
import type { ProductsService } from './products-service';
import type { ProductData, ProductInput } from './products-types';

/**
 * The catalogue is the platform's own data about what it sells, so it is
 * the checkout role's, like the rest of checkout; `admin` manages API
 * clients only (docs/clients-and-errors.md), and partners never write it.
 */
const ROLES = ['checkout'] as const;
const TAG = 'Products';

/** CEB621 itemNo: at most 30 characters; never an id number or a phone (it travels in clear). */
const SKU = /^[A-Za-z0-9._-]{1,30}$/;

const skuParams = Joi.object<{ sku: string }>({
  sku: identifier(SKU)
    .required()
    .description(
      "The platform's SKU (CEB621 itemNo): 1-30 letters, digits, '.', '_' or '-'; never an id number or a phone number",
    ),
});

const unitCode = () =>
  Joi.string()
    .valid(...Object.keys(CUSTOMS_UNITS.codes))
    .description('Customs measurement unit code (3 digits), e.g. 035 (千克), 142 (瓶)');

function productSchema(categories: string[]) {
  return Joi.object<ProductInput>({
    name: clearText(250).required().description('Chinese goods name (CEB621 gname)'),
    hsCode: Joi.string()
      .pattern(/^\d{10}$/)
      .required()
      .description('HS code, exactly 10 digits (CEB621 gcode)'),
    category: Joi.string()
      .valid(...categories)
      .required()
      .description('Tax category of the CBEC policy; verify taxes the SKU by it'),
    spec: clearText(250).required().description('Specification and model (CEB621 gmodel)'),
    originCountry: Joi.string()
      .valid(...Object.keys(CUSTOMS_COUNTRIES.codes))
      .required()
      .description('Country of origin, customs 3-digit code (CEB621 country), e.g. 116 (日本)'),
    unit: unitCode().required().description('The declared unit (CEB621 unit)'),
    legalUnit: unitCode().required().description('The first legal unit (CEB621 unit1)'),
    legalQtyPerUnit: positiveDecimal().required(),
    secondUnit: unitCode().description('The second legal unit (CEB621 unit2)'),
    // Both or neither: the quantity is required with the unit, not allowed without it.
    secondQtyPerUnit: positiveDecimal().when('secondUnit', {
      is: Joi.exist(),
      then: Joi.required(),
      otherwise: Joi.forbidden(),
    }),
    barCode: identifier(/^[A-Za-z0-9._-]{1,50}$/).description('Bar code (CEB621 barCode)'),
    itemRecordNo: identifier(/^[A-Za-z0-9._-]{1,30}$/).description(
      'Record number in the account book (CEB621 itemRecordNo)',
    ),
    netWeightKg: positiveDecimal().required(),
    tariffRate: Joi.string()
      .pattern(/^(0(\.\d{1,4})?|1(\.0{1,4})?)$/)
      .description(
        "The HS code's MFN import tariff as a decimal (0.08 for 8%): a single piece above the per-order limit is taxed in full with it; absent: the category's rate",
      ),
  });
}

const productView = Joi.object({
  sku: Joi.string(),
  name: Joi.string(),
  hsCode: Joi.string(),
  category: Joi.string(),
  spec: Joi.string(),
  originCountry: Joi.string(),
  unit: Joi.string(),
  legalUnit: Joi.string(),
  legalQtyPerUnit: Joi.string().description('Exact decimal, canonical form ("0.5")'),
  secondUnit: Joi.string().allow(null),
  secondQtyPerUnit: Joi.string().allow(null),
  barCode: Joi.string().allow(null),
  itemRecordNo: Joi.string().allow(null),
  netWeightKg: Joi.string().description('Exact decimal, canonical form ("0.5")'),
  tariffRate: Joi.string().allow(null),
  updatedAt: Joi.string().isoDate(),
});

const view = (product: ProductData) => ({ ...product, updatedAt: product.updatedAt.toISOString() });

export function productsRoutes(
  products: ProductsService,
  { categories }: { categories: string[] },
): RouteDefinition[] {
  return [
    route({
      method: 'put',
      path: '/v1/products/:sku',
      summary: "Catalogue a product's customs data (CEB621 goods line); replaces it whole",
      tag: TAG,
      roles: ROLES,
      params: skuParams,
      body: productSchema(categories),
      responses: {
        200: { description: 'Replaced', schema: productView },
        201: { description: 'Created', schema: productView },
      },
      async handler(_req, res, { input }) {
        const { product, created } = await products.put(input.params.sku, input.body);
        res.status(created ? 201 : 200).json(view(product));
      },
    }),
    route({
      method: 'get',
      path: '/v1/products/:sku',
      summary: "A catalogued product's customs data",
      tag: TAG,
      roles: ROLES,
      params: skuParams,
      responses: {
        200: { description: 'The product', schema: productView },
        404: { description: 'NOT_FOUND: the SKU is not catalogued' },
      },
      async handler(_req, res, { input }) {
        res.json(view(await products.get(input.params.sku)));
      },
    }),
  ];
}
