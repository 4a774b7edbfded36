export declare function square(x: number): number;
export declare function cube(x: number): number;
export declare function plainSin(x: number): number;
export declare const helpers: { twice(x: number): number };
