import type { Connection } from 'mongoose';
import type { Config } from '../config';
import type { RouteDefinition } from '../http/route';
import { loadPolicy } from '../quota/policy';
import { productsRoutes } from './products-routes';
import { createProductsService } from './products-service';
import { createProductsStore } from './products-store';
import type { ProductCatalogue } from './products-types';

export interface ProductsModule {
  routes: RouteDefinition[];
  ensureIndexes(): Promise<void>;
  /** For checkout: an order's products in one read. */
  catalogue: ProductCatalogue;
}

/** The product catalogue: the customs data of what the platform sells. */
export function createProductsModule(
  deps: { connection: Connection; clock?: () => Date },
  config: Pick<Config, 'quota'>,
): ProductsModule {
  const productsStore = createProductsStore(deps.connection);
  const products = createProductsService({
    productsStore,
    clock: deps.clock ?? (() => new Date()),
  });
  // The categories the quota module taxes by: the same policy file.
  const categories = loadPolicy(config.quota.policyFile).categoryNames();
  return {
    routes: productsRoutes(products, { categories }),
    ensureIndexes: () => productsStore.ensureIndexes(),
    catalogue: { findMany: (skus) => productsStore.findMany(skus) },
  };
}
