// Panel 1's library: a query ("Marvel") and five books, each with a key (what it is about: 3 features)
// and a value (what you take home from it: 2 features).

export const KEY_FEATURES = ['superheroes', 'space', 'romance'] as const;
export const VALUE_FEATURES = ['action', 'humour'] as const;

export interface Book {
  title: string;
  key: number[];
  value: number[];
}

/** The query the page starts with: "Marvel", [superheroes, space, romance]. */
export const MARVEL_QUERY: readonly number[] = [1.0, 0.4, 0.0];

export const BOOKS: readonly Book[] = [
  { title: 'Iron Man: Extremis', key: [0.9, 0.3, 0.1], value: [0.9, 0.4] },
  { title: 'Guardians of the Galaxy', key: [0.8, 0.9, 0.1], value: [0.7, 0.9] },
  { title: 'Dune', key: [0.1, 0.9, 0.2], value: [0.6, 0.1] },
  { title: 'Pride and Prejudice', key: [0.0, 0.0, 0.9], value: [0.1, 0.6] },
  { title: 'The Martian', key: [0.0, 0.8, 0.0], value: [0.5, 0.8] },
];
